"""Sessions keep the hash of their current refresh token only, and when they were last refreshed.

Refresh tokens now name their session under a MAC, so a rotated token is recognised without
keeping it: the refresh_tokens table, which grew with every rotation, goes. Refresh tokens
issued before this revision stop working (their holders log in again); access tokens are
unaffected.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("refresh_hash", sa.LargeBinary))
    op.add_column("sessions", sa.Column("refreshed_at", sa.DateTime(timezone=True)))
    op.drop_table("refresh_tokens")


def downgrade() -> None:
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column(
            "session_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("refresh_tokens_by_session", "refresh_tokens", ["session_id"])
    op.drop_column("sessions", "refreshed_at")
    op.drop_column("sessions", "refresh_hash")
