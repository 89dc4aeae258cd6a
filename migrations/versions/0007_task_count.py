"""Each user's number of tasks, kept beside the account, so the task quota holds under
concurrent creates (the row lock serialises them) and costs no count of the tasks.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("task_count", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id)"
    )
    op.create_check_constraint("users_task_count_not_negative", "users", "task_count >= 0")


def downgrade() -> None:
    op.drop_column("users", "task_count")
