"""The release step: `todo migrate` serialises, production `serve` insists on it, and start-up
waits for a database that is late, within bounds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import asyncpg
import pytest
import sqlalchemy as sa

from adapters.postgres.migration_lock import MIGRATION_LOCK_KEY
from entrypoints.readiness import head_revision
from tests.integration.test_cli import free_port, todo
from tests.support.database import _asyncpg_dsn, throwaway_database


async def _connect(url: str) -> asyncpg.Connection:
    """Over TCP or, for the embedded server, its Unix socket (``?host=/folder``)."""
    dsn, extra = _asyncpg_dsn(url)
    return await asyncpg.connect(dsn, **extra)


def start_todo(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "entrypoints.cli", *args],
        env={**os.environ, "APP_ENV": "test", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _waiting_for_the_lock(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return count


async def _concurrent_migrations(url: str) -> list[tuple[int, str]]:
    holder = await _connect(url)
    runs: list[subprocess.Popen[str]] = []
    try:
        # Hold the lock so that both runs are seen waiting for it, whatever the timing.
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        runs = [start_todo("migrate", DATABASE_URL=url) for _ in range(2)]
        deadline = time.monotonic() + 60
        while await _waiting_for_the_lock(holder) < 2:
            assert all(run.poll() is None for run in runs), "a run ended without waiting"
            assert time.monotonic() < deadline, "the runs never queued on the lock"
            await asyncio.sleep(0.1)
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        results = []
        for run in runs:
            _, stderr = await asyncio.to_thread(run.communicate, timeout=120)
            results.append((run.returncode, stderr))
        return results
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
        await holder.close()


def test_concurrent_migrate_runs_wait_for_each_other_and_migrate_once(
    postgres_server_url: str,
) -> None:
    with throwaway_database(postgres_server_url) as url:
        results = asyncio.run(_concurrent_migrations(url))

        assert [code for code, _ in results] == [0, 0], results
        upgrades = [stderr.count("Running upgrade") for _, stderr in results]
        # One run applied every migration; the other found the schema at head.
        assert sorted(upgrades) == [0, len(upgrades_expected())]
        assert asyncio.run(_versions(url)) == [head_revision()]


def upgrades_expected() -> list[str]:
    from alembic.script import ScriptDirectory

    from entrypoints.readiness import alembic_config

    return [rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()]


async def _versions(url: str) -> list[str]:
    connection = await _connect(url)
    try:
        return [row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")]
    finally:
        await connection.close()


PRODUCTION = {"APP_ENV": "production", "BETTER_AUTH_SECRET": secrets.token_urlsafe(48)}


def test_production_serve_refuses_a_schema_behind_the_release(postgres_server_url: str) -> None:
    with throwaway_database(postgres_server_url) as url:
        result = todo("serve", DATABASE_URL=url, PORT=str(free_port()), **PRODUCTION)

        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "run `todo migrate` first" in lines[0]
        head = head_revision()
        assert head
        assert head in lines[0]
        # Nothing was migrated behind the operator's back.
        assert asyncio.run(_tables(url)) == []


async def _tables(url: str) -> list[str]:
    connection = await _connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return [row[0] for row in rows]
    finally:
        await connection.close()


def test_start_up_gives_up_on_an_unreachable_database_with_one_line() -> None:
    began = time.monotonic()
    result = todo(
        "migrate",
        DATABASE_URL=f"postgresql://todo:hunter2-secret@127.0.0.1:{free_port()}/todo",
        STARTUP_TIMEOUT="1.5",
    )
    took = time.monotonic() - began

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unreachable after" in lines[0]
    assert "hunter2-secret" not in result.stderr
    assert 1.5 <= took < 30  # it retried for the whole budget, and no longer than bounded


def test_start_up_fails_at_once_when_waiting_cannot_help(postgres_server_url: str) -> None:
    missing = sa.make_url(postgres_server_url).set(database="todo_no_such_database")
    began = time.monotonic()
    result = todo(
        "migrate",
        DATABASE_URL=missing.render_as_string(hide_password=False),
        STARTUP_TIMEOUT="30",
    )

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "todo_no_such_database" in result.stderr
    assert time.monotonic() - began < 20


@contextlib.contextmanager
def tcp_forwarder(port: int, target: tuple[str, int]) -> Iterator[None]:
    """Forward 127.0.0.1:``port`` to ``target``: a database that appears when this starts."""
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)
    stop = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_migrate_waits_for_a_database_that_comes_up_late(postgres_server_url: str) -> None:
    server = sa.make_url(postgres_server_url)
    if server.query.get("host"):
        pytest.skip("the test server listens on a Unix socket; the forwarder speaks TCP")
    with throwaway_database(postgres_server_url) as url:
        port = free_port()
        late = sa.make_url(url).set(host="127.0.0.1", port=port)
        run = start_todo(
            "migrate",
            DATABASE_URL=late.render_as_string(hide_password=False),
            STARTUP_TIMEOUT="60",
        )
        try:
            time.sleep(2)  # refused meanwhile: the run keeps trying
            assert run.poll() is None, run.communicate()
            with tcp_forwarder(port, (server.host or "127.0.0.1", server.port or 5432)):
                _, stderr = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()

        assert run.returncode == 0, stderr
        assert asyncio.run(_versions(url)) == [head_revision()]
