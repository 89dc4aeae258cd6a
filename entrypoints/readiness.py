"""Is the service ready? The database answers and its schema is at the newest migration.

Ready is not the same as everything as configured: when Redis does not answer, the rate limits
are counted per process (degraded, still ready)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.rate_limits import LimitStore
from entrypoints.settings import PROJECT_ROOT

PROBE_TIMEOUT_SECONDS = 3.0
UNDEFINED_TABLE = "42P01"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(Path(PROJECT_ROOT / "migrations")))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


class ReadinessProbe:
    def __init__(self, engine: AsyncEngine | None) -> None:
        self._engine = engine
        self._head = head_revision()

    async def failures(self) -> dict[str, str]:
        """What is not ready, by check name; empty when all is well."""
        if self._engine is None:
            return {}
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), self._engine.connect() as connection:
                current = await connection.scalar(
                    sa.text("SELECT version_num FROM alembic_version")
                )
        except Exception as error:  # any failure here means "not ready", never a crash
            if _undefined_table(error):
                return {"schema": "no migrations applied"}
            return {"database": f"unreachable ({type(error).__name__})"}
        if current != self._head:
            return {"schema": f"at {current}, expected {self._head}"}
        return {}


def _undefined_table(error: BaseException | None) -> bool:
    """PostgreSQL's "undefined table" (SQLSTATE 42P01) anywhere in the chain of causes: the
    message alone would not do, since SQLAlchemy quotes the statement in every error."""
    for _ in range(8):  # the chain is short; never follow a cycle
        if error is None:
            return False
        if getattr(error, "sqlstate", None) == UNDEFINED_TABLE:
            return True
        error = error.__cause__ or getattr(error, "orig", None)
    return False


async def degradations(limits: LimitStore) -> dict[str, str]:
    """What works, but less well than configured, by check name; empty when all is well."""
    reason = await limits.check()
    return {"redis": reason} if reason else {}
