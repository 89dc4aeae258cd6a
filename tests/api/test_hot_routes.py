"""The hot routes (``entrypoints/http/hot_routes.py``) answer exactly as the Litestar routes do:
every request here is sent with them on and with them off, and the answers must be the same
but for the request id (a write goes to one of two identical tasks each way, so ids and times
differ too). The plain requests never reach Litestar; any other one does. Either way a request
is counted under the same route in the metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from asgi_lifespan import LifespanManager

from domain.task_listing import Status
from entrypoints.http.app import create_app
from entrypoints.http.hot_routes import HotTaskRoutes
from entrypoints.http.plain_requests import plain_listing
from entrypoints.ioc import make_container
from entrypoints.settings import Settings
from tests.api.test_unauthorized import signed
from tests.support.app import bearer, http_scope, register

Answer = tuple[int, list[tuple[str, str]], Any]


class Lane:
    """The app under test, its hot routes, and the paths that reached Litestar."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.hot: HotTaskRoutes = app.app
        self.parts = self.hot.parts
        litestar = self.hot.app
        self.reached: list[str] = []
        self.routes: list[str] = []  # as the metrics label each request
        observe = app.metrics.observe

        def spy_on_metrics(method: str, route: str, status: int, seconds: float) -> None:
            self.routes.append(route)
            observe(method, route, status, seconds)

        app.metrics.observe = spy_on_metrics

        async def spy(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.reached.append(f"{scope['method']} {scope['path']}")
            await litestar(scope, receive, send)

        self.hot.app = spy

    def on(self, enabled: bool) -> None:
        self.hot.parts = self.parts if enabled else None


@contextlib.asynccontextmanager
async def lane_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Lane]]:
    app = create_app(make_container(settings), settings)
    async with LifespanManager(app) as manager:
        lane = Lane(app)
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, lane


VARYING_FIELDS = ("request_id", "id", "created_at", "updated_at", "completed_at")


def _without(text: str, ids: tuple[str, ...]) -> str:
    for task_id in ids:
        text = text.replace(task_id, "<id>")
    return text


def answer(response: httpx.Response, *, ids: tuple[str, ...] = ()) -> Answer:
    """Status, headers and body, without what differs between two requests: the request id;
    ``ids`` (the tasks written) and the times of a task."""
    headers = []
    for name, value in response.headers.items():
        if name != "x-request-id":
            headers.append((name, _without(value, ids)))
    body: Any = response.content
    if response.content and response.headers["content-type"].endswith("json"):
        body = response.json()
        for item in body if isinstance(body, list) else [body]:
            for name in VARYING_FIELDS:
                if isinstance(item, dict) and item.get(name) is not None:
                    item[name] = "..."
        if isinstance(body, dict) and isinstance(body.get("instance"), str):
            body["instance"] = _without(body["instance"], ids)
    return response.status_code, sorted(headers), body


async def both_ways(
    client: httpx.AsyncClient, lane: Lane, method: str, url: str, headers: dict[str, str]
) -> tuple[Answer, bool]:
    """The answer (the same both ways) and whether the hot routes served it."""
    return await _compare(client, lane, (method, url, headers, None), (method, url, headers, None))


Sent = tuple[str, str, dict[str, str], bytes | None]


async def _compare(
    client: httpx.AsyncClient, lane: Lane, hot: Sent, reference: Sent, ids: tuple[str, ...] = ()
) -> tuple[Answer, bool]:
    answers, served_hot = [], False
    for sent, enabled in ((hot, True), (reference, False)):
        lane.on(enabled)
        lane.reached.clear()
        method, url, headers, content = sent
        response = await client.request(method, url, headers=headers, content=content)
        served_hot = served_hot or (enabled and not lane.reached)
        answers.append(answer(response, ids=ids))
    lane.on(True)
    assert answers[0] == answers[1], (hot, reference)
    assert lane.routes[-2] == lane.routes[-1], (hot, lane.routes[-2:])
    return answers[0], served_hot


async def twins(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> list[str]:
    """Two identical tasks: one for each way a write is sent."""
    return [
        (await client.post("/api/tasks", json={"title": "Twin", **body}, headers=headers)).json()[
            "id"
        ]
        for _ in range(2)
    ]


async def write_both_ways(
    client: httpx.AsyncClient,
    lane: Lane,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes | None,
    **task: Any,
) -> tuple[Answer, bool]:
    """``path`` with ``{id}`` standing for a task: a twin's each way."""
    ids = tuple(await twins(client, {"authorization": headers["authorization"]}, **task))
    hot, reference = ((method, path.format(id=i), headers, content) for i in ids)
    return await _compare(client, lane, hot, reference, ids)


@pytest.fixture
async def tasks_and_lane(
    settings_for: Callable[..., Settings],
) -> AsyncIterator[tuple[httpx.AsyncClient, Lane, dict[str, Any]]]:
    async with lane_app(settings_for()) as (client, lane):
        pair = await register(client)
        headers = bearer(pair)
        ids = []
        bodies: list[dict[str, Any]] = [
            {"title": "Buy milk", "priority": "high", "due_date": "2030-01-02"},
            {"title": "Call Ada", "starred": True, "tags": ["home"]},
            {"title": "File taxes", "completed": True, "priority": "low"},
        ]
        for i, body in enumerate(bodies):
            created = await client.post(
                "/api/tasks", json={**body, "description": f"#{i}"}, headers=headers
            )
            ids.append(created.json()["id"])
        other = bearer(await register(client))
        foreign = (await client.post("/api/tasks", json={"title": "x"}, headers=other)).json()
        yield client, lane, {"pair": pair, "headers": headers, "ids": ids, "foreign": foreign["id"]}


PLAIN_LISTS = [
    "",
    "?limit=1",
    "?limit=2&sort=title",
    "?status=completed",
    "?status=pending&sort=-due_date",
    "?priority=high",
    "?starred=true&limit=200",
    "?completed=false",
    # Refused by the use case's rules, after the token: the same 422 both ways.
    "?sort=bogus",
    "?status=completed&completed=false",
    "?cursor=not.a-cursor",
]
OTHER_LISTS = [
    "?limit=0",
    "?limit=201",
    "?limit=050",
    "?limit=1&limit=2",
    "?status=done",
    "?starred=1",
    "?starred=null",
    "?q=milk",
    "?q=buy+milk",
    "?tag=home",
    "?priority=high&priority=low",
    "?sort_by=title&order=desc",
    "?unknown=1",
    "?limit=",
    "?limit",
    "?title=%41",
]


async def test_a_listing_is_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    for query in PLAIN_LISTS + OTHER_LISTS:  # one app for all: each case is two requests
        for prefix in ("/api", "/api/v1"):
            (status, _, _), hot = await both_ways(
                client, lane, "GET", f"{prefix}/tasks{query}", seeded["headers"]
            )
            assert hot == (query in PLAIN_LISTS), query
            assert status in (200, 422)


async def test_following_the_next_link_is_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    url, seen = "/api/tasks?limit=1&sort=title", []
    while url:
        (status, headers, body), hot = await both_ways(client, lane, "GET", url, seeded["headers"])
        assert (status, hot) == (200, True)
        seen += [task["title"] for task in body]
        link = dict(headers).get("link")
        url = link.split(">", 1)[0].removeprefix("<") if link else ""
    assert seen == ["Buy milk", "Call Ada", "File taxes"]


async def test_one_task_is_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    headers, task = seeded["headers"], seeded["ids"][0]
    cases = {
        f"/api/tasks/{task}": (200, True),
        f"/api/v1/tasks/{task}": (200, True),
        f"/api/tasks/{task.upper()}": (200, True),
        "/api/tasks/0190c1d2-0000-7000-8000-000000000000": (404, True),
        "/api/tasks/not-a-uuid": (404, True),
        f"/api/tasks/{seeded['foreign']}": (404, True),
        f"/api/tasks/{task}?x=1": (422, False),
        f"/api/tasks/{task}/": (200, False),
        f"/api/{seeded['pair']['user']['id']}/tasks/{task}": (200, False),
    }
    for url, expected in cases.items():
        (status, _, _), hot = await both_ways(client, lane, "GET", url, headers)
        assert (status, hot) == expected, url
    for method in ("HEAD", "OPTIONS", "PATCH"):  # the PATCH has no body: refused
        await both_ways(client, lane, method, f"/api/tasks/{task}", headers)


async def test_refused_callers_are_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    pair, task = seeded["pair"], seeded["ids"][0]
    expired = signed(pair, issued=datetime.now(UTC) - timedelta(hours=1))
    refusals = {
        "authentication-required": {},
        "invalid-token": {"authorization": "Bearer junk"},
        "token-expired": {"authorization": f"Bearer {expired}"},
    }
    for url in (f"/api/tasks/{task}", "/api/tasks?limit=5"):
        for slug, headers in refusals.items():
            (status, _, body), hot = await both_ways(client, lane, "GET", url, headers)
            assert (status, body["type"].rsplit("/", 1)[-1], hot) == (401, slug, True)
    await client.post("/api/auth/logout", headers=seeded["headers"])
    for url in (f"/api/tasks/{task}", "/api/tasks"):
        (status, _, body), hot = await both_ways(client, lane, "GET", url, seeded["headers"])
        assert (status, body["type"].rsplit("/", 1)[-1], hot) == (401, "session-ended", True)


async def test_the_rate_limit_holds_on_the_hot_routes(
    settings_for: Callable[..., Settings],
) -> None:
    async with lane_app(settings_for(api_rate_limit="3/minute")) as (client, lane):
        headers = bearer(await register(client))
        lane.reached.clear()
        statuses = [(await client.get("/api/tasks", headers=headers)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert not lane.reached
        refused = await client.get(
            "/api/tasks/0190c1d2-0000-7000-8000-000000000000", headers=headers
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["type"].endswith("/rate-limited")


def test_only_plain_listing_queries_are_taken() -> None:
    assert plain_listing(b"") == {"limit": 100}
    assert plain_listing(b"limit=5&status=pending") == {"limit": 5, "status": Status.PENDING}
    for refused in (b"limit=5&", b"&", b"limit=1e2", b"sort=%2Dtitle", b"cursor=" + b"a" * 1025):
        assert plain_listing(refused) is None, refused


JSON = "application/json"
WRITES: list[tuple[str, str, str | None, bytes | None, int, bool]] = [
    # method, path, content type, body, status, served hot
    ("PATCH", "/api/tasks/{id}", JSON, b'{"title": "Renamed", "tags": ["a"]}', 200, True),
    ("PUT", "/api/tasks/{id}", JSON, b'{"starred": true}', 200, True),
    (
        "PATCH",
        "/api/v1/tasks/{id}",
        "application/merge-patch+json",
        b'{"due_date": null}',
        200,
        True,
    ),
    ("PATCH", "/api/tasks/{id}", JSON, b'{"title": "  "}', 422, True),
    ("PATCH", "/api/tasks/{id}", JSON, b'{"title": 1, "priority": "urgent", "x": 2}', 422, True),
    ("PATCH", "/api/tasks/{id}", JSON, b'{"title": ', 400, True),
    ("PATCH", "/api/tasks/{id}", JSON, b"[]", 422, True),
    ("PATCH", "/api/tasks/{id}", JSON + "; charset=utf-8", b"{}", 200, True),
    ("PATCH", "/api/tasks/{id}", "text/plain", b"{}", 415, False),
    ("PUT", "/api/tasks/{id}", "application/merge-patch+json", b"{}", 415, False),
    ("PATCH", "/api/tasks/{id}", JSON, None, 400, False),
    ("PATCH", "/api/tasks/{id}", None, None, 415, False),
    ("PATCH", "/api/tasks/{id}x", JSON, b'{"title": "x"}', 404, True),
    ("PATCH", "/api/tasks/{id}x", JSON, b'{"title": 1}', 422, True),  # the body first
    ("PATCH", "/api/tasks/{id}?x=1", JSON, b"{}", 422, False),
    ("PATCH", "/api/tasks/{id}/complete", None, None, 200, True),
    ("PATCH", "/api/tasks/{id}/complete", JSON, b'{"completed": false}', 200, True),
    ("PATCH", "/api/tasks/{id}/complete", JSON, b"{}", 200, True),
    ("PATCH", "/api/tasks/{id}/complete", JSON, b'{"completed": "yes"}', 422, True),
    ("PATCH", "/api/tasks/{id}/complete", "text/plain", b"x", 415, False),
    ("PATCH", "/api/tasks/{id}/complete", "text/plain", None, 200, True),
    ("PUT", "/api/tasks/{id}/complete", JSON, b"{}", 405, False),
    ("DELETE", "/api/tasks/{id}", None, None, 204, True),
    ("DELETE", "/api/tasks/{id}", JSON, b"{}", 204, False),
    ("DELETE", "/api/tasks/not-an-id", None, None, 404, True),
    ("POST", "/api/tasks/{id}", JSON, b"{}", 405, False),
]


async def test_a_write_is_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    for method, path, media, body, status, hot in WRITES:
        headers = {"authorization": seeded["headers"]["Authorization"]}
        if media:
            headers["content-type"] = media
        (got, _, _), served_hot = await write_both_ways(
            client, lane, method, path, headers, body, completed=False, tags=["b"]
        )
        assert (got, served_hot) == (status, hot), (method, path, media, body)


async def test_conditional_writes_are_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    token = {"authorization": seeded["headers"]["Authorization"]}
    for if_match, status in (('"1"', 200), ('"2"', 412), ("*", 200), ('"1", "5"', 200), ("1", 412)):
        headers = {**token, "content-type": JSON, "if-match": if_match}
        for method, path, body in (
            ("PATCH", "/api/tasks/{id}", b'{"starred": true}'),
            ("PATCH", "/api/tasks/{id}/complete", b"{}"),
        ):
            (got, _, _), served_hot = await write_both_ways(
                client, lane, method, path, headers, body
            )
            assert (got, served_hot) == (status, True), (if_match, path)
        (got, _, _), _ = await write_both_ways(
            client, lane, "DELETE", "/api/tasks/{id}", {**token, "if-match": if_match}, None
        )
        assert got == (204 if status == 200 else 412)


async def test_a_create_is_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    token = {"authorization": seeded["headers"]["Authorization"]}
    json_headers = {**token, "content-type": JSON}
    cases: list[tuple[str, dict[str, str], bytes | None, int, bool]] = [
        ("/api/tasks", json_headers, b'{"title": "New", "tags": ["x", "X"]}', 201, True),
        ("/api/v1/tasks", json_headers, b'{"title": "New", "priority": "high"}', 201, True),
        ("/api/tasks", json_headers, b'{"title": "New", "id": "x", "version": 9}', 201, True),
        ("/api/tasks", json_headers, b"{}", 422, True),
        (
            "/api/tasks",
            json_headers,
            b'{"title": "x", "tags": ' + b'["t"]' * 0 + b"[1]}",
            422,
            True,
        ),
        ("/api/tasks", json_headers, b"nope", 400, True),
        ("/api/tasks", json_headers, None, 400, False),
        ("/api/tasks", {**token, "content-type": "text/plain"}, b"{}", 415, False),
        ("/api/tasks?x=1", json_headers, b'{"title": "New"}', 422, False),
        ("/api/tasks", {"content-type": JSON}, b'{"title": "New"}', 401, True),
    ]
    for url, headers, body, status, hot in cases:
        before = {t["id"] for t in (await client.get("/api/tasks", headers=token)).json()}
        lane.on(True)
        lane.reached.clear()
        first = await client.post(url, headers=headers, content=body)
        served_hot = not lane.reached
        lane.on(False)
        second = await client.post(url, headers=headers, content=body)
        lane.on(True)
        after = {t["id"] for t in (await client.get("/api/tasks", headers=token)).json()}
        made = tuple(after - before)
        assert answer(first, ids=made) == answer(second, ids=made), url
        assert (first.status_code, served_hot, len(made)) == (
            status,
            hot,
            2 if status == 201 else 0,
        ), (url, body)


async def send_raw(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    """A request whose body is not declared (no Content-Length, as HTTP/2 may send one)."""
    scope = {**http_scope(method, path, headers), "http_version": "2"}
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_an_undeclared_body_is_checked_as_the_framework_checks_it(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]],
) -> None:
    client, lane, seeded = tasks_and_lane
    body = b'{"completed": true}'
    for media, encoding, status in (
        ("text/plain", None, 415),
        (None, None, 415),
        ("application/json", "gzip", 415),
        ("application/json", None, 200),
    ):
        headers = {"authorization": seeded["headers"]["Authorization"]}
        headers |= {"content-type": media} if media else {}
        headers |= {"content-encoding": encoding} if encoding else {}
        answers = []
        for enabled in (True, False):
            task = await client.post("/api/tasks", json={"title": "t"}, headers=seeded["headers"])
            lane.on(enabled)
            lane.reached.clear()
            path = f"/api/tasks/{task.json()['id']}/complete"
            got, content = await send_raw(lane.app, "PATCH", path, headers, body)
            lane.on(True)
            problem = msgspec.json.decode(content).get("type") if got != 200 else None
            answers.append((got, problem, not lane.reached))
        assert answers[0][:2] == answers[1][:2] == (status, answers[1][1]), (media, encoding)
        assert answers[0][2], "served by the hot routes"
