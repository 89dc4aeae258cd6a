"""The composition root's seam: a test swaps one provider without monkeypatching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager
from dishka import Provider, Scope, provide

from application.ports import Clock
from entrypoints.http.app import create_app
from entrypoints.http.metrics import HttpMetrics
from entrypoints.ioc import make_container
from entrypoints.settings import Settings
from tests.fakes import FakeClock
from tests.support.app import bearer, register


class ClockOverride(Provider):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    @provide(scope=Scope.APP)
    def fake_clock(self) -> Clock:
        return self.clock


async def test_a_provider_passed_to_make_container_replaces_the_default(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    clock = FakeClock(datetime.now(UTC))  # tokens are checked against the real time
    app = create_app(make_container(settings, ClockOverride(clock)), settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            pair = await register(client)
            assert (await client.get("/api/auth/me", headers=bearer(pair))).status_code == 200
            # The session is 14 days long by the app's clock, which is now the test's.
            clock.advance(days=15)
            assert (await client.get("/api/auth/me", headers=bearer(pair))).status_code == 401
            clock.current -= timedelta(days=15)
            assert (await client.get("/api/auth/me", headers=bearer(pair))).status_code == 200


class MetricsOverride(Provider):
    def __init__(self, metrics: HttpMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    @provide(scope=Scope.APP)
    def the_metrics(self) -> HttpMetrics:
        return self.metrics


async def test_the_edge_and_metrics_route_use_the_containers_metrics(
    settings_for: Callable[..., Settings],
) -> None:
    """Metrics are an app-wide service like any other: the container's instance is the one
    every request is counted in and the one ``/metrics`` renders."""
    settings = settings_for()
    metrics = HttpMetrics()
    app = create_app(make_container(settings, MetricsOverride(metrics)), settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/health")).status_code == 200
            scraped = (await client.get("/metrics")).text
    assert 'route="/health"' in scraped
    # Counted in the instance the test gave the container, after the scrape too.
    assert 'route="/metrics"' in metrics.render().decode()
