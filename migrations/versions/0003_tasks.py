"""Tasks, with an index for each sort order of the list endpoint.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("due_date", sa.Date),
        # 1 low, 2 medium, 3 high: sorting by the number sorts by meaning.
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("starred", sa.Boolean, nullable=False),
        sa.Column("completed", sa.Boolean, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("priority BETWEEN 1 AND 3", name="tasks_priority_range"),
        sa.CheckConstraint("version >= 1", name="tasks_version_positive"),
    )
    # Keyset pagination: (owner, sort value, id) for every sort the list endpoint offers.
    for name, column in (
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
        ("due_date", "due_date"),
        ("priority", "priority"),
    ):
        op.create_index(f"tasks_by_user_{name}", "tasks", ["user_id", column, "id"])
    op.execute(
        'CREATE INDEX tasks_by_user_title ON tasks (user_id, (lower(title) COLLATE "C"), id)'
    )
    op.create_index("tasks_tags", "tasks", ["tags"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("tasks")
