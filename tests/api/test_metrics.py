"""/metrics: the counters operators alert on, and the pool gauges."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import AppFactory
from tests.support.app import PASSWORD, bearer, register, unique_email


async def _sample(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The value of one sample in /metrics (0 when it has not appeared yet)."""
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_failed_logins_are_counted(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    before = await _sample(client, "todo_login_failures_total")

    for password in ("wrong password one", "wrong password two"):
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 401
    unknown = {"email": unique_email(), "password": PASSWORD}
    assert (await client.post("/api/auth/login", json=unknown)).status_code == 401
    assert (
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    ).is_success

    assert await _sample(client, "todo_login_failures_total") == before + 3


async def test_rate_limit_refusals_are_counted_by_limit(app_with: AppFactory) -> None:
    async with app_with(auth_rate_limit="2/minute", login_failure_limit="1/minute") as client:
        ip_before = await _sample(client, "todo_rate_limited_total", limit="auth-ip")
        email_before = await _sample(client, "todo_rate_limited_total", limit="login-failures")
        wrong = {"email": unique_email(), "password": "not the password"}
        assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        assert (await client.post("/api/auth/login", json=wrong)).status_code == 429
        assert (await client.post("/api/auth/login", json=wrong)).status_code == 429

        assert await _sample(client, "todo_rate_limited_total", limit="auth-ip") == ip_before + 1
        assert (
            await _sample(client, "todo_rate_limited_total", limit="login-failures")
            == email_before + 1
        )


async def test_refresh_token_reuse_is_counted(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    before = await _sample(client, "todo_refresh_token_reuse_total")
    old = {"refresh_token": pair["refresh_token"]}
    assert (await client.post("/api/auth/refresh", json=old)).status_code == 200
    assert await _sample(client, "todo_refresh_token_reuse_total") == before

    assert (await client.post("/api/auth/refresh", json=old)).status_code == 401  # reused
    assert await _sample(client, "todo_refresh_token_reuse_total") == before + 1


async def test_quota_refusals_are_counted(app_with: AppFactory) -> None:
    async with app_with(max_tasks_per_user=1) as client:
        auth = bearer(await register(client))
        before = await _sample(client, "todo_quota_refusals_total", quota="tasks")
        assert (await client.post("/api/tasks", json={"title": "one"}, headers=auth)).is_success
        refused = await client.post("/api/tasks", json={"title": "two"}, headers=auth)
        assert refused.status_code == 409

        assert await _sample(client, "todo_quota_refusals_total", quota="tasks") == before + 1


async def test_pool_gauges_read_the_pool_at_the_scrape(app_with: AppFactory, storage: str) -> None:
    async with app_with(database_pool_size=7) as client:
        size = await _sample(client, "db_pool_connections", state="size")
        in_use = await _sample(client, "db_pool_connections", state="checked_out")
    if storage == "memory":
        assert size == 0  # no pool to watch
    else:
        assert size == 7
        assert in_use == 0  # nothing in flight while /metrics renders
