"""add users.display_name

Revision ID: 3a9d8c6e2f14
Revises: 2b7e4d1c9a05
Create Date: 2024-02-02 11:47:29.901377

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "3a9d8c6e2f14"
down_revision: Union[str, Sequence[str], None] = "2b7e4d1c9a05"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("users", sa.Column("display_name", sa.String(100), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    pass
