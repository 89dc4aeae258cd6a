"""External identities: users of a Better Auth front end, keyed by (issuer, subject), and the
"not before" that a logout with an external token sets on their session.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("not_before", sa.DateTime(timezone=True)))
    op.create_table(
        "external_identities",
        sa.Column("issuer", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, primary_key=True),
        sa.Column(
            "user_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "session_id", pg.UUID(as_uuid=True), sa.ForeignKey("sessions.id"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", name="external_identities_user_id_key"),
    )


def downgrade() -> None:
    # The accounts go too: without their link nobody could sign in to them.
    op.execute("DELETE FROM users WHERE id IN (SELECT user_id FROM external_identities)")
    op.drop_table("external_identities")
    op.drop_column("sessions", "not_before")
