"""ASVS 5.0 V4.2 (HTTP message structure): the server bounds a request's header section. At
least 16 KiB of headers are accepted; a larger section is refused with 431 (or the connection
closed), never a 500 and never a hang. Against a real `todo serve`: the bound is granian's."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.test_v4_slow_clients import (
    SOCKET_TIMEOUT,
    parse_response,
    read_until_closed,
    todo_server,
)
from tests.support.app import PASSWORD, unique_email

pytestmark = pytest.mark.slow


def padding(total: int, *, per_header: int = 1024) -> bytes:
    """Header lines of about ``per_header`` bytes each, ``total`` bytes in all."""
    lines: list[bytes] = []
    size = 0
    while size < total:
        line = f"X-Padding-{len(lines)}: ".encode()
        line += b"a" * max(1, min(per_header, total - size) - len(line) - 2) + b"\r\n"
        lines.append(line)
        size += len(line)
    return b"".join(lines)


def exchange(host: str, port: int, head: bytes) -> bytes:
    """Send a request head and read the answer until the server closes the connection; a server
    that refuses midway may reset it, which counts as closed."""
    sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(head)
    return read_until_closed(sock)


def request_head(host: str, port: int, token: str, extra: bytes) -> bytes:
    return (
        b"GET /api/tasks HTTP/1.1\r\n"
        + f"Host: {host}:{port}\r\n".encode()
        + f"Authorization: Bearer {token}\r\n".encode()
        + extra
        + b"Connection: close\r\n\r\n"
    )


@pytest.fixture
def server(
    clean_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int, str]]:
    """A running server and an access token on it."""
    with todo_server(clean_database, tmp_path, monkeypatch) as (host, port, _):
        account = {"email": unique_email("headers"), "password": PASSWORD}
        registered = httpx.post(
            f"http://{host}:{port}/api/auth/register", json=account, trust_env=False
        )
        assert registered.status_code == 201, registered.text
        yield host, port, registered.json()["access_token"]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(padding(15 * 1024), id="15-KiB-in-1-KiB-headers"),
        pytest.param(padding(16 * 1024, per_header=4096), id="16-KiB-in-4-KiB-headers"),
        pytest.param(b"Cookie: " + b"c" * (16 * 1024) + b"\r\n", id="one-16-KiB-cookie"),
    ],
)
def test_v4_2_a_header_section_of_16_kib_is_accepted(
    server: tuple[str, int, str], extra: bytes
) -> None:
    host, port, token = server
    head = request_head(host, port, token, extra)
    assert len(head) > 15 * 1024
    status, headers, body = parse_response(exchange(host, port, head))
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    assert body == b"[]"


@pytest.mark.parametrize(
    "size", [pytest.param(64 * 1024, id="64-KiB"), pytest.param(1024 * 1024, id="1-MiB")]
)
def test_v4_2_a_larger_header_section_is_refused_with_431(
    server: tuple[str, int, str], size: int
) -> None:
    host, port, token = server
    answer = exchange(host, port, request_head(host, port, token, padding(size)))
    if answer:  # else the server closed the connection without a word: allowed too
        status, _, _ = parse_response(answer)
        assert status == 431
    # The server is unharmed: the next request is served.
    listed = httpx.get(
        f"http://{host}:{port}/api/tasks",
        headers={"Authorization": f"Bearer {token}"},
        timeout=SOCKET_TIMEOUT,
        trust_env=False,
    )
    assert listed.status_code == 200
