"""Password reset tokens: single use, kept only as a hash, short-lived.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_resets",
        # SHA-256 of the token: a leaked table does not let anybody reset a password.
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column(
            "user_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    # A reset, a password change and the account's deletion end all tokens of one user.
    op.create_index("password_resets_by_user", "password_resets", ["user_id"])


def downgrade() -> None:
    op.drop_table("password_resets")
