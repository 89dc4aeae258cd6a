"""The advisory lock that serialises schema migrations.

Every ``alembic upgrade`` takes it, as a transaction-level lock, before it reads the schema's
revision: a second ``todo migrate`` started meanwhile (two replicas, two release jobs) waits,
then finds the schema at head and does nothing. Being transaction-scoped, the lock is released
by the commit (or by the connection dying) and also works through PgBouncer.
"""

from __future__ import annotations

import sqlalchemy as sa

# Any fixed 64-bit number no other application on the database uses: "todo-mig" in ASCII.
MIGRATION_LOCK_KEY = int.from_bytes(b"todo-mig", "big") & (2**63 - 1)

TAKE_MIGRATION_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(
    key=MIGRATION_LOCK_KEY
)
