"""add posts.published_at

Revision ID: 4c1e7f3b8d62
Revises: 2b7e4d1c9a05
Create Date: 2024-02-05 16:20:03.417790

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "4c1e7f3b8d62"
down_revision: Union[str, Sequence[str], None] = "2b7e4d1c9a05"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("posts", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("posts", "published_at")
