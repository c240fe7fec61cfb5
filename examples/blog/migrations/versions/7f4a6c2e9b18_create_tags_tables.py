"""create tags and post_tags tables

Revision ID: 7f4a6c2e9b18
Revises: 5d2f9a4c1e83
Create Date: 2024-02-07 10:15:37.774902

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "7f4a6c2e9b18"
down_revision: Union[str, Sequence[str], None] = "5d2f9a4c1e83"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
    )
    op.create_table(
        "post_tags",
        sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("posts.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tag_id", sa.Integer(), sa.ForeignKey("tags.id", ondelete="CASCADE"),
                  primary_key=True),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("post_tags")
    op.drop_table("tags")
