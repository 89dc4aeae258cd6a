"""`todo check`, `todo migrate` and `todo serve` as people run them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed; bench does the same
import pytest

from tests.support.database import throwaway_database

PASSWORD = "correct horse battery staple"


def todo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "entrypoints.cli", *args],
        env={**os.environ, "APP_ENV": "test", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_passes_on_a_migrated_database(database_url: str) -> None:
    result = todo("check", DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "schema at the latest migration" in result.stdout


def test_check_fails_until_migrate_runs(postgres_server_url: str) -> None:
    with throwaway_database(postgres_server_url) as url:
        before = todo("check", DATABASE_URL=url)
        assert before.returncode != 0
        assert "schema" in before.stderr
        assert todo("migrate", DATABASE_URL=url).returncode == 0
        assert todo("check", DATABASE_URL=url).returncode == 0


def test_check_fails_when_the_database_is_unreachable() -> None:
    result = todo("check", DATABASE_URL="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert result.returncode != 0
    assert "database" in result.stderr


def test_production_refuses_to_start_without_a_secret() -> None:
    result = todo("check", APP_ENV="production", TODO_STORAGE="memory")
    assert result.returncode != 0
    assert "BETTER_AUTH_SECRET" in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def embedded_servers(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if process.info["name"] == "postgres" and str(data_dir) in cmdline:
            found.append(process)
    return found


@pytest.fixture
def launcher_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NEON_DB_URL")}
    env.update(
        APP_ENV="development",
        TODO_DATA_DIR=str(tmp_path / "data"),
        PORT=str(free_port()),
        LOG_FORMAT="json",
    )
    yield env
    for process in embedded_servers(tmp_path / "data"):  # never leak a server, even on failure
        process.kill()


def start_server(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )


def wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the server never became ready")


def interrupt(server: subprocess.Popen[str]) -> None:
    """What Ctrl-C does: SIGINT to the whole foreground process group."""
    os.killpg(server.pid, signal.SIGINT)
    server.wait(timeout=60)


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`todo serve` until the block ends, then Ctrl-C; yields its base URL and process."""
    server = start_server(env)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_ready(base, server)
        yield base, server
    finally:
        interrupt(server)


@pytest.mark.slow
def test_serve_with_embedded_postgres_keeps_data_and_leaves_nothing_behind(
    launcher_env: dict[str, str],
) -> None:
    data_dir = Path(launcher_env["TODO_DATA_DIR"])
    account = {"email": "launcher@example.com", "password": PASSWORD}

    with serving(launcher_env) as (base, _):
        assert httpx.post(f"{base}/api/auth/register", json=account).status_code == 201
    assert not embedded_servers(data_dir)

    with serving(launcher_env) as (base, server):
        assert httpx.post(f"{base}/api/auth/login", json=account).status_code == 200
    assert server.returncode in (0, -signal.SIGINT)
    assert not embedded_servers(data_dir)
