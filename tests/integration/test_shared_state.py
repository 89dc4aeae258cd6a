"""Several server instances behind one load balancer: they share the database and Redis."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from tests.support.app import bearer, make_settings, register, serve, unique_email

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers() -> bool:
    host_port = REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=0.5):
            return True
    except OSError:
        return False


async def test_logout_on_one_instance_is_seen_by_another(clean_database: str) -> None:
    settings = make_settings("postgres", clean_database)
    async with serve(settings) as first, serve(settings) as second:
        pair = await register(first)
        assert (await second.get("/api/auth/me", headers=bearer(pair))).status_code == 200
        assert (await first.post("/api/auth/logout", headers=bearer(pair))).status_code == 204
        assert (await second.get("/api/auth/me", headers=bearer(pair))).status_code == 401
        refreshed = await second.post(
            "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 401


@pytest.mark.skipif(not redis_answers(), reason="no Redis server to share limits through")
async def test_rate_limits_are_shared_through_redis(clean_database: str) -> None:
    # A fresh key space per run: the client address is unique to this test.
    client_ip = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    email = unique_email()
    settings = make_settings(
        "postgres",
        clean_database,
        redis_url=REDIS_URL,
        auth_rate_limit="4/minute",
        login_failure_limit=f"2/{uuid.uuid4().int % 50 + 10} minutes",
    )
    async with (
        serve(settings, client_ip=client_ip) as first,
        serve(settings, client_ip=client_ip) as second,
    ):
        await register(first, email)
        bad = {"email": email, "password": "wrong wrong wrong"}
        assert (await first.post("/api/auth/login", json=bad)).status_code == 401
        assert (await second.post("/api/auth/login", json=bad)).status_code == 401
        locked = await first.post("/api/auth/login", json=bad)
        assert locked.status_code == 429  # two failures across two instances lock the email
        assert int(locked.headers["retry-after"]) > 0
        limited = await second.post("/api/auth/login", json=bad)  # the 5th request from this IP
        assert limited.status_code == 429
