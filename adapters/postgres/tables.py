"""Table definitions (SQLAlchemy Core). Migrations create them; this mirrors the head revision,
indexes and constraints included (tests/integration/test_migrations.py compares the two)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("email_key", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # How many tasks the user has: the quota's counter, kept by every statement that adds or
    # deletes tasks (a cascade from the account takes the row with it).
    sa.Column("task_count", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("task_count >= 0", name="users_task_count_not_negative"),
    # Case-insensitively unique, so two registrations can never race past each other.
    sa.UniqueConstraint("email_key", name="users_email_key_key"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "user_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    # The hash of the session's current refresh token only (see adapters/security/refresh_tokens).
    sa.Column("refresh_hash", sa.LargeBinary),
    sa.Column("refreshed_at", sa.DateTime(timezone=True)),
    # The session of an external user (one stands for all its external tokens) has ended for
    # the tokens issued before this; set by a logout with such a token. NULL on the others.
    sa.Column("not_before", sa.DateTime(timezone=True)),
    # Logout-all and the pruning at login both look up the sessions of one user.
    sa.Index("sessions_by_user", "user_id"),
)

password_resets = sa.Table(
    "password_resets",
    metadata,
    # SHA-256 of the token only (see adapters/security/reset_tokens.py).
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "user_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    # A reset, a password change and the account's deletion end all tokens of one user.
    sa.Index("password_resets_by_user", "user_id"),
)

# Users of an external issuer (a Better Auth front end), by the issuer's own subject. The
# account and its one session are made with the link and never matched by email.
external_identities = sa.Table(
    "external_identities",
    metadata,
    sa.Column("issuer", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column(
        "user_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # No cascade: the session goes with the account, never on its own.
    sa.Column("session_id", pg.UUID(as_uuid=True), sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("user_id", name="external_identities_user_id_key"),
)

tasks = sa.Table(
    "tasks",
    metadata,
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
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("starred", sa.Boolean, nullable=False),
    sa.Column("completed", sa.Boolean, nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("tags", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("category", sa.Text),
    sa.CheckConstraint("priority BETWEEN 1 AND 3", name="tasks_priority_range"),
    sa.CheckConstraint("version >= 1", name="tasks_version_positive"),
    # Keyset pagination: (owner, sort value, id) for every sort the list endpoint offers.
    sa.Index("tasks_by_user_created_at", "user_id", "created_at", "id"),
    sa.Index("tasks_by_user_updated_at", "user_id", "updated_at", "id"),
    sa.Index("tasks_by_user_due_date", "user_id", "due_date", "id"),
    sa.Index("tasks_by_user_priority", "user_id", "priority", "id"),
    sa.Index("tasks_tags", "tags", postgresql_using="gin"),
)

sa.Index(
    "tasks_by_user_title",
    tasks.c.user_id,
    sa.func.lower(tasks.c.title).collate("C"),
    tasks.c.id,
)

# `category=` matches case-insensitively, any of several.
sa.Index("tasks_by_user_category", tasks.c.user_id, sa.func.lower(tasks.c.category))

# `q` searches titles and descriptions by substring (ILIKE): trigram indexes keep that fast.
sa.Index(
    "tasks_title_trgm",
    tasks.c.title,
    postgresql_using="gin",
    postgresql_ops={"title": "gin_trgm_ops"},
)
sa.Index(
    "tasks_description_trgm",
    tasks.c.description,
    postgresql_using="gin",
    postgresql_ops={"description": "gin_trgm_ops"},
)
