"""Count the SQL statements the application sends, as the driver sends them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL sent on every connection the pool hands out while the block runs.

    Repositories run statements on the asyncpg connection itself, past SQLAlchemy's cursor
    events, so an asyncpg query logger is put on each connection as it is checked out.
    asyncpg calls loggers with ``loop.call_soon``: yield to the loop before reading the list.
    """
    statements: list[str] = []
    logged: list[Any] = []

    def record(query: Any) -> None:
        statements.append(query.query)

    def on_checkout(dbapi_connection: Any, record_: Any, proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        driver.add_query_logger(record)
        logged.append(driver)

    pool = engine.sync_engine.pool
    sa.event.listen(pool, "checkout", on_checkout)
    try:
        yield statements
    finally:
        sa.event.remove(pool, "checkout", on_checkout)
        for driver in logged:
            driver.remove_query_logger(record)
