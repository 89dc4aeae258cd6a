"""A task's category (one label such as ``work``, as Phase-II clients send), filtered
case-insensitively per user.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("category", sa.Text))
    op.create_index("tasks_by_user_category", "tasks", ["user_id", sa.text("lower(category)")])


def downgrade() -> None:
    op.drop_index("tasks_by_user_category", table_name="tasks")
    op.drop_column("tasks", "category")
