"""ASVS 5.0 V4.2 (HTTP message handling) against slow clients: a request body that has not fully
arrived BODY_TIMEOUT seconds after the request headers is a 408 problem, the connection is closed,
nothing is written, and the wait holds no database connection, so slow clients cannot starve
other users. Never a 500, never an ERROR line (see conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bench.servers import running_server
from entrypoints.http.app import create_app
from entrypoints.http.middleware import EdgeMiddleware
from entrypoints.ioc import make_container
from tests.support.app import bearer, http_scope, make_settings, register, unique_email

Message = dict[str, Any]
Sent = MutableMapping[str, Any]  # what an app sends: asgi_lifespan's wrapper promises no more
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Sent], Any]], Any]
BODY = json.dumps({"title": "written slowly", "description": "x" * 200}).encode()


class Answer:
    """What an ASGI app sent back for one request."""

    def __init__(self, sent: list[Sent]) -> None:
        start = next(m for m in sent if m["type"] == "http.response.start")
        self.status: int = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        self.body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    def json(self) -> Any:
        return json.loads(self.body)


async def trickle(
    app: ASGIApp,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes],
    *,
    gap: float = 0.0,
    then_stall: bool = False,
) -> Answer:
    """Send ``chunks`` of a body ``gap`` seconds apart (the last one ends the body unless
    ``then_stall``: then the rest never comes), as a server hands them to the app."""
    pending = list(chunks)
    sent: list[Sent] = []
    never = asyncio.Event()

    async def receive() -> Message:
        if pending:
            if gap:
                await asyncio.sleep(gap)
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or then_stall}
        if sent:  # answered: the client is gone from the app's point of view
            return {"type": "http.disconnect"}
        await never.wait()  # the rest of the body never arrives
        raise AssertionError("unreachable")

    async def send(message: Sent) -> None:
        sent.append(message)

    length = sum(map(len, chunks)) + (100 if then_stall else 0)
    scope = http_scope(
        "POST",
        path,
        {"content-type": "application/json", "content-length": str(length), **headers},
    )
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return Answer(sent)


@contextlib.asynccontextmanager
async def app_and_client(**overrides: Any) -> AsyncIterator[tuple[ASGIApp, httpx.AsyncClient]]:
    """The whole app, started, and an HTTP client on that very instance."""
    storage = overrides.pop("storage")
    settings = make_settings(storage, overrides.pop("database_url", None), **overrides)
    app = create_app(make_container(settings), settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield manager.app, client


@pytest.fixture(params=["postgres", "memory"])
def storage_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "postgres":
        return {"storage": "postgres", "database_url": request.getfixturevalue("clean_database")}
    return {"storage": "memory"}


def assert_request_timeout(answer: Answer, path: str) -> None:
    assert answer.status == 408
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    problem = answer.json()
    assert problem["type"] == "https://todo.dev/problems/request-timeout"
    assert problem["status"] == 408
    assert problem["title"]
    assert problem["detail"]
    assert problem["instance"] == path
    assert problem["request_id"] == answer.headers["x-request-id"]
    assert answer.headers["x-content-type-options"] == "nosniff"  # the edge's headers too


async def test_v4_2_a_body_that_stops_arriving_is_a_408_and_writes_nothing(
    storage_settings: dict[str, Any],
) -> None:
    async with app_and_client(**storage_settings, body_timeout=0.3) as (app, client):
        headers = bearer(await register(client))
        started = time.monotonic()
        answer = await trickle(
            app,
            "/api/tasks",
            {**headers, "x-request-id": "slow-1"},
            [BODY[:10]],
            then_stall=True,
        )
        assert 0.25 <= time.monotonic() - started < 3
        assert_request_timeout(answer, "/api/tasks")
        assert answer.headers["x-request-id"] == "slow-1"
        listed = await client.get("/api/tasks", headers=headers)
        assert listed.status_code == 200
        assert listed.json() == []


async def test_v4_2_the_deadline_counts_from_the_headers_not_from_the_last_byte(
    storage_settings: dict[str, Any],
) -> None:
    """A body trickling in, a byte now and then, is refused at the deadline all the same."""
    async with app_and_client(**storage_settings, body_timeout=0.5) as (app, client):
        headers = bearer(await register(client))
        pieces = [BODY[i : i + 8] for i in range(0, len(BODY), 8)]
        slow = await trickle(app, "/api/v1/tasks", headers, pieces, gap=0.1)
        assert_request_timeout(slow, "/api/v1/tasks")
        assert (await client.get("/api/tasks", headers=headers)).json() == []

        # The same body in three pieces, done well before the deadline, is served.
        thirds = [BODY[:20], BODY[20:40], BODY[40:]]
        served = await trickle(app, "/api/v1/tasks", headers, thirds, gap=0.05)
        assert served.status == 201, served.body
        assert len((await client.get("/api/tasks", headers=headers)).json()) == 1


async def test_v4_2_slow_bodies_hold_no_database_connection(clean_database: str) -> None:
    """Twice as many stalled bodies as the pool has connections; another user is served at
    once meanwhile."""
    pool_size = 3
    async with app_and_client(
        storage="postgres",
        database_url=clean_database,
        database_pool_size=pool_size,
        database_max_overflow=0,
        body_timeout=1.5,
    ) as (app, client):
        slow_user = bearer(await register(client))
        other = bearer(await register(client))
        stalled = [
            asyncio.create_task(trickle(app, "/api/tasks", slow_user, [BODY[:10]], then_stall=True))
            for _ in range(2 * pool_size)
        ]
        await asyncio.sleep(0.1)  # every one of them is waiting for its body
        for n in range(3):
            for request in (
                client.get("/api/tasks", headers=other),
                client.post("/api/tasks", json={"title": f"fast {n}"}, headers=other),
            ):
                started = time.monotonic()
                response = await request
                assert response.status_code in (200, 201), response.text
                assert time.monotonic() - started < 1.0
        assert not any(task.done() for task in stalled)  # all that, while they hung
        for answer in await asyncio.gather(*stalled):
            assert_request_timeout(answer, "/api/tasks")
        assert (await client.get("/api/tasks", headers=slow_user)).json() == []
        assert len((await client.get("/api/tasks", headers=other)).json()) == 3


# The rule on its own, around small apps: what is cancelled, and what is not bounded.


async def test_v4_2_the_apps_pending_work_is_cancelled_at_the_deadline() -> None:
    events: list[str] = []

    async def reads_the_body(scope: Message, receive: Any, send: Any) -> None:
        try:
            while (await receive()).get("more_body"):
                pass
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        events.append("read the whole body")  # pragma: no cover - the body never ends

    edge = EdgeMiddleware(reads_the_body, origins=(), hsts=False, metrics=None, body_timeout=0.2)
    answer = await trickle(edge, "/api/tasks", {}, [b"{"], then_stall=True)
    assert_request_timeout(answer, "/api/tasks")
    assert events == ["cancelled"]


async def test_v4_2_a_request_cancelled_by_the_server_stays_cancelled() -> None:
    """Only the body deadline becomes a 408: the server's own cancellation (shutdown) passes."""

    async def reads_the_body(scope: Message, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass

    edge = EdgeMiddleware(reads_the_body, origins=(), hsts=False, metrics=None, body_timeout=5)
    request = asyncio.create_task(trickle(edge, "/api/tasks", {}, [b"{"], then_stall=True))
    await asyncio.sleep(0.1)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request


async def test_v4_2_the_deadline_bounds_the_body_only() -> None:
    """Work after the body has arrived, and requests that read no body, take what they take."""

    async def slow_after_the_body(scope: Message, receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            while (await receive()).get("more_body"):
                pass
        await asyncio.sleep(0.4)  # twice the deadline
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    edge = EdgeMiddleware(
        slow_after_the_body, origins=(), hsts=False, metrics=None, body_timeout=0.2
    )
    posted = await trickle(edge, "/api/tasks", {}, [b"{", b"}"], gap=0.05)
    assert (posted.status, posted.body) == (200, b"done")

    sent: list[Sent] = []

    async def no_body() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Sent) -> None:
        sent.append(message)

    await edge(http_scope("GET", "/api/tasks", {}), no_body, send)
    assert Answer(sent).status == 200


# A real server: `todo serve`, its pool, granian and sockets.

SLOW_SOCKETS = 12
REAL_BODY_TIMEOUT = 2.0
SOCKET_TIMEOUT = 10.0


@contextlib.contextmanager
def todo_server(
    database_url: str, log_dir: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Iterator[tuple[str, int, Path]]:
    """`todo serve` on a free port of 127.0.0.1; yields its host, port and log file, whose
    content is checked on the way out: no ERROR line and no 500."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with running_server("project", database_url, log_dir) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        yield host, int(port), server.log_path
    log = server.log_path.read_text(errors="replace")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert not [line for line in lines if line.get("level") in ("error", "critical")], log
    assert not [line for line in lines if line.get("status") == 500], log


def send_headers_and_part_of_a_body(host: str, port: int, token: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT)
    sock.sendall(
        b"POST /api/tasks HTTP/1.1\r\n"
        + f"Host: {host}:{port}\r\n".encode()
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY[: len(BODY) // 2]
    )
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket's timeout ends
    the wait otherwise: the test cannot hang)."""
    received = b""
    with sock:
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return received


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.mark.slow
def test_v4_2_slow_clients_on_a_real_server_do_not_starve_others_and_get_408(
    clean_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with todo_server(
        clean_database,
        tmp_path,
        monkeypatch,
        DATABASE_POOL_SIZE="5",
        DATABASE_MAX_OVERFLOW="0",
        BODY_TIMEOUT=str(REAL_BODY_TIMEOUT),
    ) as (host, port, _):
        base = f"http://{host}:{port}"
        with httpx.Client(base_url=base, timeout=SOCKET_TIMEOUT, trust_env=False) as client:
            password = "correct horse battery staple"
            tokens = []
            for _ in range(2):
                account = {"email": unique_email("slow"), "password": password}
                registered = client.post("/api/auth/register", json=account)
                assert registered.status_code == 201, registered.text
                tokens.append(registered.json()["access_token"])
            slow_token, other_token = tokens
            other = {"Authorization": f"Bearer {other_token}"}

            opened = time.monotonic()
            sockets = [
                send_headers_and_part_of_a_body(host, port, slow_token) for _ in range(SLOW_SOCKETS)
            ]
            for n in range(5):
                for method, path, payload in (
                    ("GET", "/api/tasks", None),
                    ("POST", "/api/tasks", {"title": f"quick {n}"}),
                ):
                    started = time.monotonic()
                    response = client.request(method, path, json=payload, headers=other)
                    assert response.status_code in (200, 201), response.text
                    assert time.monotonic() - started < 1.0, (method, path)
            assert time.monotonic() - opened < REAL_BODY_TIMEOUT  # while every socket hung

            for sock in sockets:
                status, headers, body = parse_response(read_until_closed(sock))
                assert status == 408
                assert headers["connection"].lower() == "close"
                assert headers["content-type"] == "application/problem+json"
                problem = json.loads(body)
                assert problem["status"] == 408
                assert problem["request_id"] == headers["x-request-id"]
            waited = time.monotonic() - opened
            assert REAL_BODY_TIMEOUT - 0.5 <= waited < REAL_BODY_TIMEOUT + 5

            slow = {"Authorization": f"Bearer {slow_token}"}
            assert client.get("/api/tasks", headers=slow).json() == []  # nothing was written
            assert len(client.get("/api/tasks", headers=other).json()) == 5
            assert client.get("/health/ready").status_code == 200
