"""ASVS 5.0 V4 / V6: a storm of logins meets a bounded hashing pool — back-pressure (503 with
Retry-After) instead of an unbounded queue — while other routes keep answering."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from adapters.security.argon2_hasher import QUEUE_LIMIT
from tests.support.app import PASSWORD, bearer, register

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def test_v4_1_logins_past_the_hashing_queue_are_503_with_retry_after(
    app_with: AppFactory,
) -> None:
    async with app_with(hash_concurrency=1, login_failure_limit="1000/minute") as client:
        pair = await register(client)
        credentials = {"email": pair["user"]["email"], "password": PASSWORD}
        storm = [
            client.post("/api/auth/login", json=credentials) for _ in range(1 + QUEUE_LIMIT + 60)
        ]
        during = client.get("/api/tasks", headers=bearer(pair))
        *answers, listed = await asyncio.gather(*storm, during)

    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) == {200, 503}, statuses
    assert statuses[503] >= 1  # how many depends on how fast the first ones finish
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert int(busy.headers["retry-after"]) >= 1
    assert listed.status_code == 200


async def test_v4_1_the_hashing_queue_drains_and_logins_work_again(app_with: AppFactory) -> None:
    async with app_with(hash_concurrency=1, login_failure_limit="1000/minute") as client:
        pair = await register(client)
        credentials = {"email": pair["user"]["email"], "password": PASSWORD}
        await asyncio.gather(
            *(client.post("/api/auth/login", json=credentials) for _ in range(QUEUE_LIMIT + 10))
        )
        after = await client.post("/api/auth/login", json=credentials)
        assert after.status_code == 200
