"""SIGTERM, as an orchestrator sends it: requests already begun finish, new ones are refused,
the process exits 0."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.integration.test_cli import free_port, wait_ready

PASSWORD = "correct horse battery staple"


def _begin_login(port: int, body: bytes) -> socket.socket:
    """A login whose body has only half arrived: in flight in the server."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    connection.sendall(head + body[: len(body) // 2])
    return connection


def _finish(connection: socket.socket, body: bytes) -> bytes:
    connection.sendall(body[len(body) // 2 :])
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    connection.close()
    return answer


def _serve(database_url: str, port: int, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        env={
            **os.environ,
            "APP_ENV": "production",
            "BETTER_AUTH_SECRET": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "LOG_FORMAT": "json",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _registered(base: str) -> bytes:
    """A login body for a fresh account."""
    account = {"email": f"{secrets.token_hex(4)}@example.com", "password": PASSWORD}
    assert httpx.post(f"{base}/api/v1/auth/register", json=account).status_code == 201
    return httpx.Request("POST", base, json=account).content


@pytest.mark.slow
def test_sigterm_lets_in_flight_requests_finish_then_exits_0(clean_database: str) -> None:
    port = free_port()
    server = _serve(clean_database, port, SHUTDOWN_TIMEOUT="20")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        body = _registered(base)
        in_flight = [_begin_login(port, body) for _ in range(4)]
        time.sleep(2)  # the requests have reached the app and wait for the rest of their bodies

        server.send_signal(signal.SIGTERM)  # to the main process only, as Kubernetes does
        time.sleep(1.0)
        assert server.poll() is None, "exited with requests in flight"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/health", timeout=2)  # no longer accepting

        answers = [_finish(connection, body) for connection in in_flight]
        assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers), answers
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_a_request_that_outlives_shutdown_timeout_does_not_hold_the_exit(
    clean_database: str,
) -> None:
    port = free_port()
    server = _serve(clean_database, port, SHUTDOWN_TIMEOUT="1", BODY_TIMEOUT="120")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        stuck = _begin_login(port, _registered(base))  # its body never completes
        time.sleep(0.5)
        began = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        assert time.monotonic() - began < 10  # the worker was killed, not waited for
        stuck.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
