"""A real PgBouncer in transaction pooling mode in front of the test PostgreSQL: what a Neon
pooled endpoint is. Debian's package (`apt-get install pgbouncer`); tests skip without it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

SERVER_CONNECTIONS = 3  # per database and user: far fewer than the clients, so they share


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _upstream(server_url: str) -> str:
    """The ``[databases]`` connection string for the test server (TCP or Unix socket)."""
    url = sa.make_url(server_url)
    socket_dir = url.query.get("host")
    parts = {
        "host": str(socket_dir) if socket_dir else (url.host or "127.0.0.1"),
        "port": str(url.port or 5432),
        "user": url.username or "postgres",
    }
    if url.password:
        parts["password"] = url.password
    return " ".join(f"{key}={_quote(value)}" for key, value in parts.items())


@contextlib.contextmanager
def pgbouncer(server_url: str) -> Iterator[int]:
    """Run PgBouncer until the block ends; yields the port it listens on (127.0.0.1).

    Clients authenticate as any user in trust mode; PgBouncer logs in to the server as the
    test server's user."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed")
    user = sa.make_url(server_url).username or "postgres"
    port = _free_port()
    # PgBouncer will not run as root: it drops to an unprivileged user, who must read the files
    # (and reach the server's socket: the embedded server's folder is its own user's).
    run_as = ["-u", _unprivileged_user(server_url)] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="todo-pgbouncer-"))
    folder.chmod(0o755)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = {_upstream(server_url)}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\n"
        "max_client_conn = 500\n"
        "server_reset_query =\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    for file in folder.iterdir():
        file.chmod(0o644)
    log = (folder / "pgbouncer.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config
        [binary, *run_as, str(folder / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {(folder / 'pgbouncer.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("pgbouncer never listened")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _unprivileged_user(server_url: str) -> str:
    if socket_dir := sa.make_url(server_url).query.get("host"):
        owner = pwd.getpwuid(Path(str(socket_dir)).stat().st_uid).pw_name
        if owner != "root":
            return owner
    return "postgres" if _user_exists("postgres") else "nobody"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def through(port: int, database_url: str, *, pooled_flag: bool = True) -> str:
    """``database_url``'s database, reached through the PgBouncer on ``port``."""
    url = sa.make_url(database_url)
    pooled = url.set(
        host="127.0.0.1",
        port=port,
        password=None,
        query={"pgbouncer": "true"} if pooled_flag else {},
    )
    return pooled.render_as_string(hide_password=False)
