"""The request path on PostgreSQL: how many statements each request sends, what it holds while
it waits, and what a client that hangs up leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.http.app import create_app
from entrypoints.ioc import make_container
from tests.support.app import bearer, make_settings, register
from tests.support.statements import counting_statements


@contextlib.asynccontextmanager
async def app_on(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine, Any]]:
    settings = make_settings("postgres", database_url)
    container = make_container(settings)
    app = create_app(container, settings)
    async with LifespanManager(app) as manager:
        engine = await container.get(AsyncEngine)
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, engine, manager.app


def post_tasks_scope(authorization: str, *, port: int, length: int | None = None) -> dict[str, Any]:
    """An ASGI scope for ``POST /api/tasks`` with a JSON body to come: of ``length`` bytes, as
    the hot routes take it, or of a length not declared, as only Litestar does."""
    declared = [] if length is None else [(b"content-length", str(length).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/tasks",
        "raw_path": b"/api/tasks",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", authorization.encode()),
            *declared,
        ],
        "client": ("203.0.113.9", port),
        "server": ("testserver", 80),
    }


async def sent_by(engine: AsyncEngine, request: Any) -> tuple[httpx.Response, list[str]]:
    with counting_statements(engine) as statements:
        response = await request
        await asyncio.sleep(0)  # query loggers are called soon, not at once
        await asyncio.sleep(0)
    return response, statements


async def test_each_task_request_is_one_statement(clean_database: str) -> None:
    async with app_on(clean_database) as (client, engine, _):
        headers = bearer(await register(client))
        first = await client.post("/api/tasks", json={"title": "One trip"}, headers=headers)
        task = f"/api/tasks/{first.json()['id']}"
        requests: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "create": lambda: client.post("/api/tasks", json={"title": "More"}, headers=headers),
            "get": lambda: client.get(task, headers=headers),
            "list": lambda: client.get("/api/tasks", params={"limit": 50}, headers=headers),
            "patch": lambda: client.patch(task, json={"title": "Renamed"}, headers=headers),
            "put": lambda: client.put(task, json={"starred": True}, headers=headers),
            "complete": lambda: client.patch(f"{task}/complete", headers=headers),
            "conditional patch": lambda: client.patch(
                task, json={"tags": ["a"]}, headers={**headers, "If-Match": "*"}
            ),
            "me": lambda: client.get("/api/auth/me", headers=headers),
            "clear completed": lambda: client.delete(
                "/api/tasks", params={"status": "completed"}, headers=headers
            ),
        }
        for name, request in requests.items():
            await request()  # the first use of a statement on a connection prepares it
            response, statements = await sent_by(engine, request())
            assert response.status_code in (200, 201), (name, response.text)
            assert len(statements) == 1, (name, statements)
            assert not any(s.strip().upper() in ("BEGIN", "COMMIT") for s in statements)

        for _ in range(2):
            doomed = await client.post("/api/tasks", json={"title": "Two"}, headers=headers)
            response, statements = await sent_by(
                engine, client.delete(f"/api/tasks/{doomed.json()['id']}", headers=headers)
            )
        assert response.status_code == 204
        assert len(statements) == 1, statements


async def test_a_miss_costs_one_more_statement_to_tell_401_404_and_412(
    clean_database: str,
) -> None:
    async with app_on(clean_database) as (client, engine, _):
        headers = bearer(await register(client))
        task = (await client.post("/api/tasks", json={"title": "x"}, headers=headers)).json()
        path = f"/api/tasks/{task['id']}"
        stale = {**headers, "If-Match": '"7"'}
        await client.patch(path, json={}, headers=stale)
        response, statements = await sent_by(engine, client.patch(path, json={}, headers=stale))
        assert (response.status_code, len(statements)) == (412, 2)
        missing = "/api/tasks/0190c1d2-0000-7000-8000-000000000000"
        await client.get(missing, headers=headers)
        response, statements = await sent_by(engine, client.get(missing, headers=headers))
        assert (response.status_code, len(statements)) == (404, 2)
        await client.post("/api/auth/logout", headers=headers)
        for method, url, body in (
            ("GET", path, None),
            ("GET", "/api/tasks", None),
            ("POST", "/api/tasks", {"title": "late"}),
        ):
            response, statements = await sent_by(
                engine, client.request(method, url, json=body, headers=headers)
            )
            assert response.status_code == 401
            assert len(statements) <= 2, statements


BODY_LENGTHS = pytest.mark.parametrize("length", [None, 17], ids=["litestar", "hot route"])


@BODY_LENGTHS
async def test_no_connection_is_held_while_a_body_is_still_arriving(
    clean_database: str, length: int | None
) -> None:
    async with app_on(clean_database) as (client, engine, app):
        headers = bearer(await register(client))
        pool: Any = engine.pool
        body_started = asyncio.Event()
        finish_body = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not body_started.is_set():
                body_started.set()
                return {"type": "http.request", "body": b'{"title": ', "more_body": True}
            await finish_body.wait()
            return {"type": "http.request", "body": b'"slow"}', "more_body": False}

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = post_tasks_scope(headers["Authorization"], port=40001, length=length)
        slow = asyncio.create_task(app(scope, receive, send))
        await body_started.wait()
        await asyncio.sleep(0.05)
        assert pool.checkedout() == 0
        finish_body.set()
        await slow
        assert sent[0]["status"] == 201


@BODY_LENGTHS
async def test_a_client_that_hangs_up_mid_body_is_no_error(
    clean_database: str, caplog: pytest.LogCaptureFixture, length: int | None
) -> None:
    async with app_on(clean_database) as (client, _, app):
        headers = bearer(await register(client))
        messages: Iterator[dict[str, Any]] = iter(
            [
                {"type": "http.request", "body": b'{"title": "half', "more_body": True},
                {"type": "http.disconnect"},
            ]
        )

        async def receive() -> dict[str, Any]:
            return next(messages)

        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = post_tasks_scope(headers["Authorization"], port=40002, length=length)
        with caplog.at_level(logging.INFO):
            await app(scope, receive, send)
        assert statuses != [500]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        listed = await client.get("/api/tasks", headers=headers)
        assert listed.json() == []
