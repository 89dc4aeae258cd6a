"""Statements on the driver connection, from the pool SQLAlchemy owns.

The hot path runs SQL compiled once (``statements.py``) straight on asyncpg: a connection is
taken from the pool when a statement is sent and given back as soon as it has answered, and a
single statement runs in autocommit — no pre-ping, no ``BEGIN``/``ROLLBACK`` around it. Only a
use case that writes several statements opens a transaction, and only for as long as they run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, PoolProxiedConnection, QueuePool
from sqlalchemy.util import greenlet_spawn

from adapters.postgres.engine import POOL_TIMEOUT_SECONDS
from domain.errors import Unavailable

# A connection that broke under a statement: the server may or may not have run it.
_CONNECTION_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    # The server ended a transaction left idle past its timeout, and the session with it.
    asyncpg.IdleInTransactionSessionTimeoutError,
    ConnectionError,
    OSError,
)
# The server cancelled a statement that ran past statement_timeout: busy, not broken.
_TOO_SLOW = (asyncpg.QueryCanceledError,)
RETRY_AFTER_SECONDS = 1


def _driver(lease: PoolProxiedConnection) -> Any:
    """The asyncpg connection behind a pooled one."""
    return lease.driver_connection


class ConnectionPool:
    """Process-wide: hands out driver connections from the engine's pool.

    Requests wait for a connection here, first come first served, so the engine's pool always
    has one for whoever gets through. Waiting in the pool's own queue was unfair: a request
    arriving as a connection came back took it from the waiter it was meant for, which then
    queued again at the back (a list's p99 under 50 clients and 20 connections: 112 ms; through
    this line: about a third of that)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # What connecting raises, as SQLAlchemy adapts the driver's errors (the database gone,
        # its server refusing): the service is unavailable, not broken.
        self._connect_errors = (
            *_CONNECTION_LOST,
            asyncpg.PostgresError,
            PoolTimeout,
            DBAPIError,
            engine.dialect.loaded_dbapi.Error,
        )
        capacity = _capacity(engine.pool)
        self._turns = asyncio.Semaphore(capacity) if capacity else None

    async def acquire(self) -> PoolProxiedConnection:
        turns = self._turns
        if turns is not None:
            if turns.locked():
                try:
                    async with asyncio.timeout(POOL_TIMEOUT_SECONDS):
                        await turns.acquire()
                except TimeoutError:
                    raise Unavailable(RETRY_AFTER_SECONDS) from None
            else:
                await turns.acquire()  # at once
        try:
            return await self._checkout()
        except BaseException:
            if turns is not None:
                turns.release()
            raise

    async def _checkout(self) -> PoolProxiedConnection:
        while True:
            try:
                lease = await self._engine.raw_connection()
            except self._connect_errors as error:
                raise Unavailable(RETRY_AFTER_SECONDS) from error
            if not _driver(lease).is_closed():
                return lease
            await greenlet_spawn(lease.invalidate)  # died while idle: nothing was sent on it

    async def release(self, lease: PoolProxiedConnection, *, broken: bool = False) -> None:
        try:
            if broken:
                await greenlet_spawn(lease.invalidate)
            else:
                # Returning it may close it (pool overflow), which awaits inside SQLAlchemy.
                await greenlet_spawn(lease.close)
        finally:
            if self._turns is not None:
                self._turns.release()


def _capacity(pool: Pool) -> int | None:
    """How many connections the pool hands out at once; ``None`` when it has no bound."""
    # QueuePool has no public reading of its overflow bound.
    if not isinstance(pool, QueuePool) or pool._max_overflow < 0:
        return None
    return pool.size() + pool._max_overflow


class Database:
    """Request-scoped: runs statements, and is the unit of work of the request.

    Outside ``begin()``/``commit()`` every statement borrows a connection for itself alone.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._held: PoolProxiedConnection | None = None
        self._transaction: Any = None

    async def fetch(self, sql: str, *args: Any, idempotent: bool = False) -> Sequence[Any]:
        rows: Sequence[Any] = await self._run("fetch", sql, args, idempotent)
        return rows

    async def fetchrow(self, sql: str, *args: Any, idempotent: bool = False) -> Any:
        return await self._run("fetchrow", sql, args, idempotent)

    async def execute(self, sql: str, *args: Any) -> str:
        status: str = await self._run("execute", sql, args, False)
        return status

    async def _run(self, method: str, sql: str, args: tuple[Any, ...], idempotent: bool) -> Any:
        if self._held is not None:
            try:
                return await getattr(_driver(self._held), method)(sql, *args)
            except _CONNECTION_LOST as error:
                await self._end(broken=True)
                raise Unavailable(RETRY_AFTER_SECONDS) from error
            except _TOO_SLOW as error:
                raise Unavailable(RETRY_AFTER_SECONDS) from error
        for attempt in (1, 2):
            lease = await self._pool.acquire()
            try:
                result = await getattr(_driver(lease), method)(sql, *args)
            except _CONNECTION_LOST as error:
                await self._pool.release(lease, broken=True)
                # A read may run again on a fresh connection; a write may have been applied.
                if idempotent and attempt == 1:
                    continue
                raise Unavailable(RETRY_AFTER_SECONDS) from error
            except _TOO_SLOW as error:
                await self._pool.release(lease)
                raise Unavailable(RETRY_AFTER_SECONDS) from error
            except Exception:
                await self._pool.release(lease)
                raise
            except BaseException:  # cancelled mid-statement: its answer may still be on the way
                await self._pool.release(lease, broken=True)
                raise
            await self._pool.release(lease)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def begin(self) -> None:
        """The statements until ``commit()`` share one connection and one transaction."""
        if self._held is not None:
            return
        lease = await self._pool.acquire()
        transaction = _driver(lease).transaction()
        try:
            await transaction.start()
        except BaseException as error:
            await self._pool.release(lease, broken=True)
            if isinstance(error, (*_CONNECTION_LOST, *_TOO_SLOW)):
                raise Unavailable(RETRY_AFTER_SECONDS) from error
            raise
        self._held, self._transaction = lease, transaction

    async def commit(self) -> None:
        if self._held is None:
            return  # each statement committed itself
        broken = True  # until COMMIT has answered: cancelled meanwhile, its answer may follow
        try:
            await self._transaction.commit()
            broken = False
        except (*_CONNECTION_LOST, *_TOO_SLOW) as error:
            # Nothing was committed, or nobody can tell: the caller may retry.
            raise Unavailable(RETRY_AFTER_SECONDS) from error
        finally:
            await self._end(broken=broken)

    async def close(self) -> None:
        """End of request: whatever was not committed is rolled back."""
        if self._held is None:
            return
        broken = True  # until ROLLBACK has answered (a request cancelled here still returns it)
        try:
            await self._transaction.rollback()
            broken = False
        except Exception:  # noqa: S110 - the connection is dropped instead
            pass
        finally:
            await self._end(broken=broken)

    async def _end(self, *, broken: bool) -> None:
        lease, self._held, self._transaction = self._held, None, None
        if lease is not None:
            await self._pool.release(lease, broken=broken)
