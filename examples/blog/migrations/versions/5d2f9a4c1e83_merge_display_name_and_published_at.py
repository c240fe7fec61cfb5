"""merge display_name and published_at

Revision ID: 5d2f9a4c1e83
Revises: 3a9d8c6e2f14, 4c1e7f3b8d62
Create Date: 2024-02-06 09:02:51.066412

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "5d2f9a4c1e83"
down_revision: Union[str, Sequence[str], None] = ("3a9d8c6e2f14", "4c1e7f3b8d62")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
