"""ASVS 5.0 V7, session management: how many sessions a user may hold, and what rotating
refresh tokens leaves behind. Both storages, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.app import PASSWORD, bearer, register

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def log_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


async def is_live(client: httpx.AsyncClient, pair: dict[str, str]) -> bool:
    status = (await client.get("/api/auth/me", headers=bearer(pair))).status_code
    assert status in (200, 401)
    return status == 200


async def test_v7_4_a_login_beyond_the_session_quota_ends_the_stalest_session(
    app_with: AppFactory,
) -> None:
    async with app_with(max_sessions_per_user=3) as client:
        first = await register(client)
        email = first["user"]["email"]
        second = await log_in(client, email)
        third = await log_in(client, email)
        # Refreshing the first makes it the most recently used: the second is now the stalest.
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert refreshed.status_code == 200
        first = refreshed.json()
        fourth = await log_in(client, email)

        assert [await is_live(client, p) for p in (first, second, third, fourth)] == [
            True,
            False,
            True,
            True,
        ]
        stale_refresh = await client.post(
            "/api/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
        assert stale_refresh.status_code == 401


async def test_v7_4_other_users_sessions_do_not_count_toward_the_quota(
    app_with: AppFactory,
) -> None:
    async with app_with(max_sessions_per_user=1) as client:
        ada, bob = await register(client), await register(client)
        assert await is_live(client, ada)
        assert await is_live(client, bob)


async def test_v7_2_a_refresh_token_two_rotations_old_still_revokes_the_session(
    app_with: AppFactory,
) -> None:
    async with app_with() as client:
        pair = await register(client)
        oldest = pair["refresh_token"]
        for _ in range(2):
            response = await client.post(
                "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            assert response.status_code == 200
            pair = response.json()

        reused = await client.post("/api/auth/refresh", json={"refresh_token": oldest})
        assert reused.status_code == 401
        assert not await is_live(client, pair)  # the whole session ended, newest token too
        newest = await client.post(
            "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert newest.status_code == 401


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "x" * 86,
        "A" * 86,
        "not-a-token",
        "é" * 86,
        "A" * 10_000,
    ],
)
async def test_v7_2_a_token_the_service_did_not_issue_is_refused_and_ends_nothing(
    app_with: AppFactory, garbage: str
) -> None:
    async with app_with() as client:
        pair = await register(client)
        response = await client.post("/api/auth/refresh", json={"refresh_token": garbage})
        assert response.status_code in (401, 422)
        assert await is_live(client, pair)


async def test_v7_2_a_tampered_token_of_a_real_session_ends_nothing(app_with: AppFactory) -> None:
    async with app_with() as client:
        pair = await register(client)
        token = pair["refresh_token"]
        flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
        response = await client.post("/api/auth/refresh", json={"refresh_token": flipped})
        assert response.status_code == 401
        assert await is_live(client, pair)
        again = await client.post("/api/auth/refresh", json={"refresh_token": token})
        assert again.status_code == 200


@pytest.mark.parametrize("storage", ["postgres"])
async def test_v7_3_stored_refresh_state_does_not_grow_with_rotations(
    app_with: AppFactory, clean_database: str, storage: str
) -> None:
    async with app_with() as client:
        pair = await register(client)
        for _ in range(60):
            response = await client.post(
                "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            assert response.status_code == 200
            pair = response.json()
    engine = create_async_engine(
        clean_database.replace("postgresql://", "postgresql+asyncpg://", 1)
    )
    try:
        async with engine.connect() as connection:
            tables = set(
                (
                    await connection.execute(
                        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
            sessions = (await connection.execute(sa.text("SELECT * FROM sessions"))).all()
    finally:
        await engine.dispose()
    assert "refresh_tokens" not in tables
    assert len(sessions) == 1
    assert sessions[0].refresh_hash is not None
    assert pair["refresh_token"].encode() not in sessions[0].refresh_hash


async def test_v7_2_twenty_concurrent_refreshes_of_an_old_token_still_end_in_one_revocation(
    app_with: AppFactory,
) -> None:
    async with app_with() as client:
        pair = await register(client)
        token = pair["refresh_token"]
        answers = await asyncio.gather(
            *(client.post("/api/auth/refresh", json={"refresh_token": token}) for _ in range(20))
        )
        assert sorted(r.status_code for r in answers) == [200] + [401] * 19
        winner = next(r.json() for r in answers if r.status_code == 200)
        assert not await is_live(client, winner)
