"""ASVS 5.0 V16, security logging and error handling, for the rate limits.

- Redis unreachable: one ERROR line per outage (not one per request), the limits carry on in the
  process's memory, ``/health/ready`` names ``redis`` as degraded; when Redis answers again a
  line says so and the counts are shared again.
- Nothing the limits, the metrics token or the client address handling log carries a password,
  a token or a secret.

Redis is reached through a TCP relay this test switches off and on; the real server at
``TEST_REDIS_URL`` (default 127.0.0.1:6379) is never stopped or flushed. Every key the test
writes there is its own (unique emails) and expires within a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import PASSWORD, bearer, make_settings, register, serve, unique_email

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_HOST, _, REDIS_PORT = REDIS_URL.split("//", 1)[1].split("/", 1)[0].rpartition(":")
LIMITER_LOG = "adapters.rate_limits"


def redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, int(REDIS_PORT)), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Relay:
    """A TCP relay to Redis on a port of its own, that can be switched off: then connecting is
    refused and the open connections are dropped, as when Redis goes away."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def on(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def off(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                REDIS_HOST, int(REDIS_PORT)
            )
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@contextlib.asynccontextmanager
async def relay() -> AsyncIterator[Relay]:
    switch = Relay()
    try:
        yield switch
    finally:
        await switch.off()


def limiter_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.name == LIMITER_LOG and r.levelno == level
    ]


async def wrong_logins(client: httpx.AsyncClient, email: str, count: int) -> list[int]:
    body = {"email": email, "password": "wrong password"}
    return [(await client.post("/api/auth/login", json=body)).status_code for _ in range(count)]


@pytest.mark.logs_errors
@pytest.mark.skipif(not redis_answers(), reason="no Redis server to relay to")
async def test_v16_a_redis_outage_is_logged_once_and_its_end_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    limits = {"login_failure_limit": "2/minute", "api_rate_limit": "1000/minute"}
    async with relay() as switch:
        through_relay = make_settings(redis_url=f"redis://127.0.0.1:{switch.port}/0", **limits)
        direct = make_settings(redis_url=REDIS_URL, **limits)
        async with serve(through_relay) as first, serve(direct) as second:
            # Redis away from the start: limits in memory, one error however many requests.
            pair = await register(first)
            assert await wrong_logins(first, unique_email(), 3) == [401, 401, 429]
            for _ in range(20):
                assert (await first.get("/api/auth/me", headers=bearer(pair))).status_code == 200
            ready = await first.get("/health/ready")
            assert ready.status_code == 200
            assert ready.json()["checks"].keys() == {"redis"}
            assert len(limiter_lines(caplog, logging.ERROR)) == 1

            # Redis answers again: readiness sees it, a line says so, the counts are shared.
            await switch.on()
            ready = await first.get("/health/ready")
            assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
            assert len(limiter_lines(caplog, logging.WARNING)) == 1
            email = unique_email()
            assert await wrong_logins(first, email, 1) == [401]
            assert await wrong_logins(second, email, 1) == [401]
            assert await wrong_logins(first, email, 1) == [429]  # two failures, two instances

            # A second outage is a second error line, and still no request goes unlimited.
            await switch.off()
            email = unique_email()
            assert await wrong_logins(first, email, 4) == [401, 401, 429, 429]
            assert (await first.get("/health/ready")).json()["checks"].keys() == {"redis"}
            assert len(limiter_lines(caplog, logging.ERROR)) == 2

    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert {r.name for r in errors} == {LIMITER_LOG}, [r.getMessage() for r in errors]


@pytest.mark.logs_errors
async def test_v16_what_the_limits_log_names_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    redis_password = "R3dis-Pa55word-XYZZY"
    metrics_token = "M3trics-T0ken-PLUGH-0123456789"
    wrong_password = "Wr0ng-Pa55word-FROBOZZ"
    settings = make_settings(
        redis_url=f"redis://:{redis_password}@127.0.0.1:{free_port()}/0",
        metrics_token=metrics_token,
        login_failure_limit="2/minute",
        api_rate_limit="3/minute",
        trusted_proxies="203.0.113.7",
    )
    async with serve(settings) as client:
        pair = await register(client)
        email = pair["user"]["email"]
        for _ in range(3):
            await client.post("/api/auth/login", json={"email": email, "password": wrong_password})
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        for _ in range(4):
            await client.get("/api/auth/me", headers=bearer(pair))
        await client.post(
            "/api/auth/refresh",
            json={"refresh_token": pair["refresh_token"]},
            headers={"x-forwarded-for": "garbage, 198.51.100.1"},
        )
        await client.get("/metrics", headers={"authorization": f"Bearer {metrics_token}x"})
        await client.get("/metrics", headers={"authorization": f"Bearer {metrics_token}"})
        await client.get("/health/ready")

    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.get_records("call"))
    for secret in (
        redis_password,
        metrics_token,
        wrong_password,
        PASSWORD,
        pair["access_token"],
        pair["refresh_token"],
    ):
        assert secret not in logged
    assert len(limiter_lines(caplog, logging.ERROR)) == 1
