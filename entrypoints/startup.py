"""Start-up checks: wait for the database with bounded backoff, then read its schema revision.

A database that is still starting (a container, a Neon compute waking up) refuses connections
for a moment: those failures are retried, with a doubling pause, until ``STARTUP_TIMEOUT``. A
failure that waiting cannot cure (a wrong password, a database that does not exist) ends the
wait at once. Either way the caller gets one line saying what is wrong.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from adapters.postgres.engine import create_engine, database_target

FIRST_PAUSE_SECONDS = 0.25
LONGEST_PAUSE_SECONDS = 5.0
ATTEMPT_TIMEOUT_SECONDS = 5.0

# What a server that is starting, restarting or full answers; worth another try.
_TRANSIENT = (
    OSError,  # refused, reset, no route (ConnectionError is one)
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)


class StartupError(Exception):
    """Start-up cannot go on; ``str()`` is the one line to print."""


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps (SQLAlchemy keeps the driver's error as ``orig``)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def is_transient(error: BaseException) -> bool:
    return any(isinstance(cause, _TRANSIENT) for cause in _causes(error))


def describe(error: BaseException) -> str:
    """The innermost cause, by type and message: what the driver actually said."""
    # A timed-out attempt ends in the cancellation asyncio.timeout caused: say the timeout.
    *_, innermost = (c for c in _causes(error) if not isinstance(c, asyncio.CancelledError))
    if isinstance(innermost, TimeoutError) and not str(innermost):
        return f"TimeoutError: no answer within {ATTEMPT_TIMEOUT_SECONDS:g} s"
    text = " ".join(str(innermost).split()) or "no message"
    return f"{type(innermost).__name__}: {text}"


async def schema_revision(database_url: str) -> str | None:
    """The schema's migration revision; ``None`` when no migration was ever applied."""
    engine = create_engine(database_target(database_url), pool_size=1, max_overflow=0)
    try:
        async with asyncio.timeout(ATTEMPT_TIMEOUT_SECONDS), engine.connect() as connection:
            try:
                revision = await connection.scalar(
                    sa.text("SELECT version_num FROM alembic_version")
                )
            except ProgrammingError as error:
                if any(isinstance(c, asyncpg.UndefinedTableError) for c in _causes(error)):
                    return None  # an empty database: alembic_version is made by a migration
                raise
            return None if revision is None else str(revision)
    finally:
        await engine.dispose()


async def wait_for_database(
    database_url: str,
    patience: float,
    *,
    attempt: Callable[[str], Awaitable[str | None]] = schema_revision,
) -> str | None:
    """Retry ``attempt`` on transient failures for up to ``patience`` seconds; its result.

    Raises ``StartupError`` (one line, no password) when the time is up or the failure is
    not one that waiting can cure.
    """
    target = database_target(database_url).render()
    deadline = time.monotonic() + max(0.0, patience)
    pause = FIRST_PAUSE_SECONDS
    attempts = 0
    while True:
        attempts += 1
        try:
            return await attempt(database_url)
        except Exception as error:
            if not is_transient(error):
                raise StartupError(f"database {target}: {describe(error)}") from error
            left = deadline - time.monotonic()
            if left <= 0:
                raise StartupError(
                    f"database {target} unreachable after {attempts} attempts in"
                    f" {patience:g} s: {describe(error)}"
                ) from error
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
