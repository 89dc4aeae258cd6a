"""ASVS 5.0 V4 (and V6): two real server processes behind one Redis enforce one limit.

Two ``todo serve`` processes, each on its own port, share a throwaway migrated database and the
Redis at ``TEST_REDIS_URL``: the per-user ``API_RATE_LIMIT`` is one budget across both, and so
is the login lockout of ``LOGIN_FAILURE_LIMIT``. Traffic goes to 127.0.0.1 only. The keys the
test writes are its own (new users, unique emails), expire within a minute, and are deleted at
the end; nothing else in Redis is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from limits.aio.storage import RedisStorage

from adapters.rate_limits import ApiRequestLimiter, RateLimiter
from application.auth_ports import AttemptLimiter
from domain.users import email_key
from entrypoints.ioc import make_container
from entrypoints.settings import load_settings
from tests.support.app import PASSWORD, TEST_SECRET, unique_email

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMITS = {
    "API_RATE_LIMIT": "10/minute",
    "LOGIN_FAILURE_LIMIT": "3/minute",
    "AUTH_RATE_LIMIT": "100000/minute",
}


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not redis_answers(), reason="no Redis server to share limits through"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"{self.base} never became ready:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def error_lines(self) -> list[str]:
        lines = []
        for line in self.log().splitlines():
            with contextlib.suppress(ValueError):
                if json.loads(line).get("level") in ("error", "critical"):
                    lines.append(line)
        return lines


@pytest.fixture
def servers(clean_database: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    started: list[Server] = []
    try:
        for name in ("a", "b"):
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NEON_DB_URL")}
            env.update(
                APP_ENV="test",
                TODO_STORAGE="postgres",
                DATABASE_URL=clean_database,
                REDIS_URL=REDIS_URL,
                BETTER_AUTH_SECRET=TEST_SECRET,
                HOST="127.0.0.1",
                PORT=str(free_port()),
                WEB_CONCURRENCY="1",
                LOG_LEVEL="WARNING",
                LOG_FORMAT="json",
                TRUSTED_PROXIES="",
                METRICS_TOKEN="",
                **LIMITS,
            )
            started.append(Server(env, tmp_path / f"server-{name}.log"))
        deadline = time.monotonic() + 90
        for server in started:
            server.wait_ready(deadline)
        first, second = started
        yield first, second
        for server in started:
            assert not server.error_lines(), server.error_lines()
    finally:
        for server in started:
            server.stop()


def forget_keys(user_ids: list[str], emails: list[str]) -> int:
    """Delete exactly the Redis keys this test's users and emails were counted under."""

    async def keys() -> list[str]:
        settings = load_settings(
            environ={"APP_ENV": "test", "TODO_STORAGE": "memory", **LIMITS},
            env_file=Path("/nonexistent/.env"),
        )
        container = make_container(settings)
        try:
            api: ApiRequestLimiter = await container.get(ApiRequestLimiter)
            failures = await container.get(AttemptLimiter)
            assert isinstance(failures, RateLimiter)
            return [api.storage_key(f"user:{u}") for u in user_ids] + [
                failures.storage_key(email_key(e)) for e in emails
            ]
        finally:
            await container.close()

    names = [f"{RedisStorage.PREFIX}:{key}" for key in asyncio.run(keys())]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        deleted = client.delete(*names) if names else 0
    finally:
        client.close()
    return int(deleted)


def test_v4_two_server_processes_enforce_one_api_limit_and_one_login_lockout(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    user_ids: list[str] = []
    emails: list[str] = []
    try:
        with httpx.Client(timeout=10) as http:

            def register(server: Server, email: str) -> dict[str, Any]:
                emails.append(email)
                response = http.post(
                    f"{server.base}/api/auth/register", json={"email": email, "password": PASSWORD}
                )
                assert response.status_code == 201, response.text
                pair: dict[str, Any] = response.json()
                user_ids.append(pair["user"]["id"])
                return pair

            # One API budget per user: ten requests split across both servers, then 429 on either.
            pair = register(first, unique_email("shared-api"))
            auth = {"Authorization": f"Bearer {pair['access_token']}"}
            for n in range(10):
                server = (first, second)[n % 2]
                response = http.get(f"{server.base}/api/auth/me", headers=auth)
                assert response.status_code == 200, (n, response.text)
            for server in (first, second):
                response = http.get(f"{server.base}/api/tasks", headers=auth)
                assert response.status_code == 429, response.text
                assert 1 <= int(response.headers["retry-after"]) <= 60
            other = register(second, unique_email("bystander"))
            response = http.get(
                f"{first.base}/api/auth/me",
                headers={"Authorization": f"Bearer {other['access_token']}"},
            )
            assert response.status_code == 200  # a budget per user, not one for everybody

            # One login lockout: three failures across both, then even the right password is
            # refused by both.
            email = unique_email("shared-lockout")
            register(second, email)
            for server in (first, second, first):
                response = http.post(
                    f"{server.base}/api/auth/login",
                    json={"email": email, "password": "wrong password"},
                )
                assert response.status_code == 401, response.text
            for server in (second, first):
                response = http.post(
                    f"{server.base}/api/auth/login", json={"email": email, "password": PASSWORD}
                )
                assert response.status_code == 429, response.text
                assert 1 <= int(response.headers["retry-after"]) <= 60
    finally:
        deleted = forget_keys(user_ids, emails)
    assert deleted >= 3, "the counts were not kept where the test looked for them"
