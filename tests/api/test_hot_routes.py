"""The hot routes (``entrypoints/http/hot_routes.py``) answer exactly as the Litestar routes do:
every request here is sent with them on and with them off, and the answers must be the same
but for the request id. The plain requests never reach Litestar; any other one does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from domain.task_listing import Status
from entrypoints.http.app import create_app
from entrypoints.http.hot_routes import HotTaskRoutes, plain_listing
from entrypoints.ioc import make_container
from entrypoints.settings import Settings
from tests.api.test_unauthorized import signed
from tests.support.app import bearer, register

Answer = tuple[int, list[tuple[str, str]], Any]


class Lane:
    """The app under test, its hot routes, and the paths that reached Litestar."""

    def __init__(self, app: Any) -> None:
        self.hot: HotTaskRoutes = app.app
        self.parts = self.hot.parts
        litestar = self.hot.app
        self.reached: list[str] = []

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


def answer(response: httpx.Response) -> Answer:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "x-request-id")
    body: Any = response.content
    if response.content and response.headers["content-type"].endswith("json"):
        body = response.json()
        if isinstance(body, dict) and "request_id" in body:
            body["request_id"] = "..."
    return response.status_code, headers, body


async def both_ways(
    client: httpx.AsyncClient, lane: Lane, method: str, url: str, headers: dict[str, str]
) -> tuple[Answer, bool]:
    """The answer (the same both ways) and whether the hot routes served it."""
    lane.on(True)
    lane.reached.clear()
    hot = await client.request(method, url, headers=headers)
    served_hot = not lane.reached
    lane.on(False)
    reference = await client.request(method, url, headers=headers)
    lane.on(True)
    assert answer(hot) == answer(reference), (method, url)
    return answer(hot), served_hot


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


@pytest.mark.parametrize("query", PLAIN_LISTS + OTHER_LISTS)
async def test_a_listing_is_answered_the_same_either_way(
    tasks_and_lane: tuple[httpx.AsyncClient, Lane, dict[str, Any]], query: str
) -> None:
    client, lane, seeded = tasks_and_lane
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
