"""ASVS 5.0 V4, API and web service: rate limits on the API, and whose they are.

- ``API_RATE_LIMIT`` per user on every authenticated route, per client IP on ``/api/auth/refresh``;
  ``/health*`` and ``/metrics`` never limited; a 429 problem with ``Retry-After`` in seconds.
- The client IP: X-Forwarded-For only from a trusted proxy, right-most untrusted address over all
  of its lines, IPv6 per /64; garbage in it neither crashes nor picks a key.
- Redis unreachable: the limits fall back to per-process memory, never to no limit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from entrypoints.http.app import create_app
from entrypoints.http.client_ip import client_key
from entrypoints.ioc import make_container
from entrypoints.openapi import openapi_document
from entrypoints.settings import Settings
from tests.support.app import PASSWORD, bearer, register, serve, unique_email

PROBLEM = "application/problem+json"
PROXY = "203.0.113.7"  # the in-process client's address: a trusted proxy where a test says so

Starter = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def start(settings_for: Callable[..., Settings]) -> Starter:
    """``async with start(**settings) as client``: the whole app on this test's storage."""
    return lambda **overrides: serve(settings_for(**overrides))


@contextlib.asynccontextmanager
async def serve_peers(settings: Settings, *peers: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One app, a client for each peer address (no proxy in between)."""
    app = create_app(make_container(settings), settings)
    async with LifespanManager(app) as manager, contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(manager.app, client=(peer, 40000)),
                    base_url="http://testserver",
                )
            )
            for peer in peers
        ]


def assert_429(response: httpx.Response, *, at_most: int = 60) -> None:
    assert response.status_code == 429, (response.request.url, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 429
    assert body["request_id"] == response.headers["x-request-id"]
    assert 1 <= int(response.headers["retry-after"]) <= at_most


def authenticated_routes() -> list[tuple[str, str]]:
    """Every route the OpenAPI document says wants a bearer token, under both prefixes, and the
    user-scoped task aliases (``{user_id}`` is filled in per user)."""
    routes = []
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                routes.append((method.upper(), path))
                routes.append((method.upper(), path.replace("/api/v1/", "/api/", 1)))
                if path.startswith("/api/v1/tasks"):
                    routes.append((method.upper(), path.replace("/api/v1/", "/api/{user_id}/")))
    return routes


ROUTES = authenticated_routes()


def test_v4_the_authenticated_routes_are_found() -> None:
    assert ("GET", "/api/auth/me") in ROUTES
    assert ("POST", "/api/v1/auth/logout-all") in ROUTES
    assert ("PATCH", "/api/{user_id}/tasks/{task_id}/complete") in ROUTES
    assert len(ROUTES) >= 3 * 8


# --------------------------------------------------------------------------------------------
# API_RATE_LIMIT
# --------------------------------------------------------------------------------------------


async def test_v4_every_authenticated_route_is_limited_per_user(start: Starter) -> None:
    async with start(api_rate_limit="2/minute") as client:
        bystander = await register(client)
        for method, template in ROUTES:
            pair = await register(client)
            created = await client.post("/api/tasks", json={"title": "t"}, headers=bearer(pair))
            assert created.status_code == 201, created.text  # the first of two
            assert (await client.get("/api/auth/me", headers=bearer(pair))).status_code == 200
            path = template.format(user_id=pair["user"]["id"], task_id=created.json()["id"])
            params = (
                {"status": "completed"} if (method, path[-6:]) == ("DELETE", "/tasks") else None
            )
            response = await client.request(
                method, path, params=params, json={"title": "x"}, headers=bearer(pair)
            )
            assert_429(response)
        # Another user is not affected by any of it.
        assert (await client.get("/api/tasks", headers=bearer(bystander))).status_code == 200


async def test_v4_the_limit_is_the_users_across_sessions_and_ends_nothing(start: Starter) -> None:
    async with start(api_rate_limit="3/minute") as client:
        pair = await register(client)
        for _ in range(3):
            assert (await client.get("/api/tasks", headers=bearer(pair))).status_code == 200
        assert_429(await client.post("/api/auth/logout-all", headers=bearer(pair)))
        # A second session of the same user shares the budget...
        login = await client.post(
            "/api/auth/login", json={"email": pair["user"]["email"], "password": PASSWORD}
        )
        assert login.status_code == 200
        assert_429(await client.get("/api/auth/me", headers=bearer(login.json())))
        # ...and the refused logout-all ended no session: its refresh token still works.
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text


async def test_v4_refresh_is_limited_per_client_ip(start: Starter) -> None:
    async with start(api_rate_limit="3/minute", trusted_proxies=PROXY) as client:
        first = {"x-forwarded-for": "198.51.100.1"}
        pair = await register(client)
        for _ in range(3):
            response = await client.post(
                "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=first
            )
            assert response.status_code == 200, response.text
            pair = response.json()
        valid = {"refresh_token": pair["refresh_token"]}
        assert_429(await client.post("/api/auth/refresh", json=valid, headers=first))
        assert_429(
            await client.post("/api/auth/refresh", json={"refresh_token": "x"}, headers=first)
        )
        # another client address has its own budget; the user's own budget is untouched
        second = {"x-forwarded-for": "198.51.100.2"}
        response = await client.post("/api/auth/refresh", json=valid, headers=second)
        assert response.status_code == 200, response.text
        assert (
            await client.get("/api/auth/me", headers=bearer(response.json()))
        ).status_code == 200


async def test_v4_health_and_metrics_are_never_limited(start: Starter) -> None:
    async with start(api_rate_limit="1/minute", auth_rate_limit="1/minute") as client:
        pair = await register(client)
        for _ in range(25):
            for path in ("/health", "/health/ready", "/metrics"):
                response = await client.get(path, headers=bearer(pair))
                assert response.status_code == 200, (path, response.text)
            assert (await client.head("/health")).status_code == 200


# --------------------------------------------------------------------------------------------
# the client IP
# --------------------------------------------------------------------------------------------

TRUSTED = (ipaddress.ip_network(PROXY), ipaddress.ip_network("10.0.0.0/8"))


@pytest.mark.parametrize(
    ("peer", "lines", "expected"),
    [
        ("198.51.100.9", ["6.6.6.6"], "198.51.100.9"),  # not from a trusted proxy
        (PROXY, [], PROXY),
        (PROXY, ["198.51.100.1"], "198.51.100.1"),
        (PROXY, ["198.51.100.1", "198.51.100.9"], "198.51.100.9"),  # every line, joined
        (PROXY, ["6.6.6.6, 198.51.100.1", "10.0.0.3", "10.1.1.1"], "198.51.100.1"),
        (PROXY, ["6.6.6.6,,, 198.51.100.4 ,,"], "198.51.100.4"),  # empty elements mean nothing
        (PROXY, ["10.0.0.1, 10.0.0.2"], "10.0.0.1"),  # all trusted: the farthest one
        (PROXY, ["2001:db8:1:2:3:4:5:6"], "2001:db8:1:2::/64"),
        (PROXY, ["[2001:db8:1:2::77]:8443"], "2001:db8:1:2::/64"),
        (PROXY, ["::ffff:198.51.100.8"], "198.51.100.8"),
        (PROXY, ["198.51.100.8:5555"], "198.51.100.8"),
        ("2001:db8:9:9:1::1", ["1.2.3.4"], "2001:db8:9:9::/64"),
        # garbage ends the walk at the last address a trusted proxy vouched for
        (PROXY, ["unknown"], PROXY),
        (PROXY, ["not an address"], PROXY),
        (PROXY, ["198.51.100.1, _hidden"], PROXY),
        (PROXY, ["198.51.100.1, garbage, 10.0.0.4"], "10.0.0.4"),
        (PROXY, ["fe80::1%eth0"], PROXY),
        (PROXY, ["1.2.3.4.5", "999.1.1.1"], PROXY),
        (PROXY, ["[2001:db8::1"], PROXY),
        (PROXY, ["\u00ff\u00fe"], PROXY),
        (PROXY, ["1" * 5000], PROXY),
        (PROXY, [", ".join(["10.0.0.9"] * 2000)], "10.0.0.9"),
        ("testclient", ["1.2.3.4"], "testclient"),
        (None, ["1.2.3.4"], "unknown"),
    ],
)
def test_v4_client_key(peer: str | None, lines: list[str], expected: str) -> None:
    headers = [(b"x-forwarded-for", line.encode("latin-1")) for line in lines]
    headers.insert(0, (b"host", b"testserver"))
    assert client_key(peer, headers, TRUSTED) == expected


async def login(client: httpx.AsyncClient, headers: Any) -> httpx.Response:
    body = {"email": unique_email(), "password": "wrong password"}
    return await client.post("/api/auth/login", json=body, headers=headers)


async def test_v4_forwarded_for_counts_the_right_most_address_over_every_line(
    start: Starter,
) -> None:
    async with start(auth_rate_limit="2/minute", trusted_proxies=PROXY) as client:
        two_lines = [
            ("x-forwarded-for", "6.6.6.6, 198.51.100.1"),
            ("x-forwarded-for", "198.51.100.9"),
        ]
        for _ in range(2):
            assert (await login(client, two_lines)).status_code == 401
        assert_429(await login(client, {"x-forwarded-for": "198.51.100.9"}))
        # the addresses on the first line were not the client
        assert (await login(client, {"x-forwarded-for": "198.51.100.1"})).status_code == 401
        assert (await login(client, {"x-forwarded-for": "6.6.6.6"})).status_code == 401


async def test_v4_ipv6_clients_are_counted_per_64(start: Starter) -> None:
    async with start(auth_rate_limit="2/minute", trusted_proxies=PROXY) as client:
        for address in ("2001:db8:1:2::a", "2001:db8:1:2:ffff:ffff:ffff:ffff"):
            assert (await login(client, {"x-forwarded-for": address})).status_code == 401
        assert_429(await login(client, {"x-forwarded-for": "[2001:db8:1:2::b]:443"}))
        assert (await login(client, {"x-forwarded-for": "2001:db8:1:3::a"})).status_code == 401


async def test_v4_ipv6_peers_are_counted_per_64(settings_for: Callable[..., Settings]) -> None:
    peers = ["2001:db8:7:7::1", "2001:db8:7:7:8000::1", "2001:db8:7:7::2", "2001:db8:7:8::1"]
    async with serve_peers(settings_for(auth_rate_limit="2/minute"), *peers) as clients:
        first, second, same_64, next_64 = clients
        assert (await login(first, None)).status_code == 401
        assert (await login(second, None)).status_code == 401
        assert_429(await login(same_64, None))
        assert (await login(next_64, None)).status_code == 401


async def test_v4_garbage_forwarded_for_shares_the_proxys_key_and_never_fails(
    start: Starter,
) -> None:
    garbage = [
        "unknown",
        "_obfuscated",
        "not an ip",
        "1.2.3.4.5",
        "999.1.1.1",
        "[::1",
        "fe80::1%eth0",
        "::1%25x",
        "1.2.3.4:99999",
        "\u00ff\u00fe\u00fd",
        "x" * 4000,
        "," * 3000,
        ", ".join(f"garbage{n}" for n in range(500)),
    ]
    async with start(auth_rate_limit="3/minute", trusted_proxies=PROXY) as client:
        statuses = [
            (await login(client, [("x-forwarded-for", value.encode("latin-1"))])).status_code
            for value in garbage
        ]
        # A key of its own for each would answer 401 every time; one key (the proxy's) is
        # spent after three.
        assert statuses == [401] * 3 + [429] * (len(garbage) - 3), statuses


# --------------------------------------------------------------------------------------------
# Redis unreachable: per-process memory, never no limit
# --------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def without_redis(start: Starter, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    async with start(redis_url=url, **overrides) as client:
        yield client


@pytest.mark.logs_errors
async def test_v4_limits_fall_back_to_memory_when_redis_is_unreachable(
    start: Starter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings: dict[str, Any] = {
        "login_failure_limit": "2/15 minutes",
        "api_rate_limit": "3/minute",
        "auth_rate_limit": "4/minute",
    }
    async with without_redis(start, **settings) as client:
        pair = await register(client)
        email = pair["user"]["email"]
        wrong = {"email": email, "password": "wrong password"}
        for _ in range(2):
            assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        assert_429(
            await client.post("/api/auth/login", json={"email": email, "password": PASSWORD}),
            at_most=15 * 60,
        )
        assert_429(await login(client, None))  # the fifth request from this address
        for _ in range(3):
            assert (await client.get("/api/auth/me", headers=bearer(pair))).status_code == 200
        assert_429(await client.get("/api/tasks", headers=bearer(pair)))

        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert set(ready.json()["checks"]) == {"redis"}

    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["adapters.rate_limits"], [r.getMessage() for r in errors]
    assert "redis" in errors[0].getMessage().lower()


async def test_v4_ready_says_nothing_of_redis_when_it_is_not_configured(start: Starter) -> None:
    async with start() as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
