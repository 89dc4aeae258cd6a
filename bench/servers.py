"""The database and the server processes the benchmark runs against."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
import sqlalchemy as sa

from entrypoints.cli import migrate
from tests.support.database import postgres_server, throwaway_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105 - test only
READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0


@contextlib.contextmanager
def migrated_database() -> Iterator[str]:
    """A fresh, migrated database on BENCH_DATABASE_URL or TEST_DATABASE_URL, else Docker or
    the embedded server; either URL names a server on which a throwaway database is created."""
    with contextlib.ExitStack() as stack:
        server_url = os.environ.get("BENCH_DATABASE_URL") or stack.enter_context(postgres_server())
        url = stack.enter_context(throwaway_database(server_url))
        migrate(url)
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    name: str  # "project" or "floor"
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    database: str | None  # its PostgreSQL backends are found by this name

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """The largest process of the server's tree: its worker, which holds the app."""
        largest = 0
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                largest = max(largest, process.memory_info().rss)
        return largest

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def database_cpu_seconds(self) -> float:
        """CPU of the PostgreSQL serving this server, when it runs on this machine: its postmaster,
        live processes, and those already gone (backends come and go with the pool's overflow)."""
        postmaster = self._postmaster()
        if postmaster is None:
            return 0.0
        with contextlib.suppress(psutil.NoSuchProcess):
            times = postmaster.cpu_times()
            total: float = times.user + times.system + times.children_user + times.children_system
            for child in postmaster.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = child.cpu_times()
                    total += times.user + times.system
            return total
        return 0.0

    def _postmaster(self) -> psutil.Process | None:
        if not self.database:
            return None
        for process in psutil.process_iter(["cmdline"]):
            if self.database in " ".join(process.info["cmdline"] or ()):  # a backend's title
                with contextlib.suppress(psutil.NoSuchProcess):
                    parent: psutil.Process | None = process.parent()
                    return parent
        return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _environment(database_url: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        APP_ENV="test",
        TODO_STORAGE="postgres",
        DATABASE_URL=database_url,
        NEON_DB_URL="",
        REDIS_URL="",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        BETTER_AUTH_SECRET=SECRET,
        AUTH_RATE_LIMIT="1000000/minute",
        # Logins are counted before the password is checked: concurrent ones would hit 429.
        LOGIN_FAILURE_LIMIT="1000000/minute",
        API_RATE_LIMIT="100000000/minute",
        MAX_TASKS_PER_USER="100000000",  # the create scenario adds thousands
        LOG_LEVEL="WARNING",
        LOG_FORMAT="json",
    )
    return env


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"{server.base_url}/health/ready", timeout=1, trust_env=False)
            if response.status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} never became ready:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a terminal sends it to the server's process group; a kill if that hangs."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _command(name: str, port: int) -> list[str]:
    if name == "project":
        return [sys.executable, "-m", "entrypoints.cli", "serve"]
    # The floor runs under the same server, with the same event loop.
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface=asgi",
        "--loop=uvloop",
        "--no-ws",
        "--host=127.0.0.1",
        f"--port={port}",
        "--log-level=warning",
        "bench.floor:app",
    ]


@contextlib.contextmanager
def running_server(
    name: str,
    database_url: str,
    log_dir: Path,
    *,
    port: int | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """The project (`todo serve`) or the floor on ``port`` (else a free one), stopped with SIGINT
    on the way out; ``environment`` adds or overrides settings."""
    port = port or free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            _command(name, port),
            cwd=PROJECT_ROOT,
            env={**_environment(database_url, port), **(environment or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C does not reach it; _stop sends its own
        )
    database = sa.make_url(database_url).database
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path, database)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(process)
