"""ASVS 5.0 V6, authentication: failed logins are counted before the password is checked.

Every login attempt for an email is counted atomically before its password reaches argon2, and a
success clears the count. So of a burst of concurrent guesses at most LOGIN_FAILURE_LIMIT's count
are verified, and once the limit is reached the right password is refused too (429), even while
the counted guesses are still being verified. The real argon2 hasher runs behind a gate that
counts verifications and holds them in flight: no timing is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dishka import Provider, Scope, provide

from adapters.security.argon2_hasher import Argon2PasswordHasher
from application.auth_ports import PasswordHasher
from entrypoints import ioc
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.support.app import PASSWORD, register, unique_email

LOGIN = "/api/auth/login"
PROBLEM = "application/problem+json"


class GatedHasher:
    """The real hasher; each verification (real or dummy) is counted, then waits at the gate."""

    def __init__(self, inner: Argon2PasswordHasher) -> None:
        self.inner = inner
        self.verifications = 0
        self.gate = asyncio.Event()

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        await self.gate.wait()
        return await self.inner.verify(password_hash, password)

    async def verify_dummy(self, password: str) -> None:
        self.verifications += 1
        await self.gate.wait()
        await self.inner.verify_dummy(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


class GatedHasherProvider(Provider):
    def __init__(self, hasher: GatedHasher) -> None:
        super().__init__()
        self.hasher = hasher

    @provide(scope=Scope.APP)
    def password_hasher(self) -> PasswordHasher:
        return self.hasher


@pytest.fixture
def gated_hasher() -> Iterator[GatedHasher]:
    inner = Argon2PasswordHasher(concurrency=2)
    yield GatedHasher(inner)
    inner.close()


@contextlib.asynccontextmanager
async def serve_with(
    settings: Settings, hasher: GatedHasher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app, its container as ``make_container`` builds it plus the gated hasher."""
    container = ioc.make_container(settings, GatedHasherProvider(hasher))
    app = create_app(container, settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(condition: Callable[[], bool], what: Callable[[], Any]) -> None:
    for _ in range(1000):  # at most ten seconds; the condition is usually met at once
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"never reached: {what()}")


def login(client: httpx.AsyncClient, email: str, password: str) -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert 60 < int(response.headers["retry-after"]) <= 15 * 60


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unknown-email"])
async def test_v6_3_concurrent_wrong_logins_verify_at_most_the_limit_and_lock_the_right_one(
    settings_for: Callable[..., Settings],
    gated_hasher: GatedHasher,
    monkeypatch: pytest.MonkeyPatch,
    registered: bool,
) -> None:
    settings = settings_for(login_failure_limit="5/15 minutes")
    async with serve_with(settings, gated_hasher, monkeypatch) as client:
        email = unique_email("burst")
        if registered:
            await register(client, email)
        burst = [
            asyncio.create_task(login(client, email, f"wrong password {n}")) for n in range(18)
        ]
        # Five guesses are counted and wait at the hasher's gate; the other thirteen must be
        # refused without being verified, while those five are still in flight.
        await eventually(
            lambda: gated_hasher.verifications >= 5 and sum(t.done() for t in burst) >= 13,
            lambda: (
                f"{gated_hasher.verifications} verifications, "
                f"{sum(t.done() for t in burst)} of 18 answered"
            ),
        )
        right = await login(client, email, PASSWORD)  # inside the same burst
        gated_hasher.gate.set()
        answers = await asyncio.gather(*burst)

    assert gated_hasher.verifications == 5
    assert Counter(a.status_code for a in answers) == {401: 5, 429: 13}
    for answer in answers:
        if answer.status_code == 429:
            assert_429(answer)
    assert_429(right)


async def test_v6_3_a_success_resets_the_count_and_then_only_the_limit_is_verified_again(
    settings_for: Callable[..., Settings],
    gated_hasher: GatedHasher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gated_hasher.gate.set()
    settings = settings_for(login_failure_limit="3/15 minutes")
    async with serve_with(settings, gated_hasher, monkeypatch) as client:
        email = unique_email("reset")
        await register(client, email)
        for _ in range(2):
            assert (await login(client, email, "wrong password!")).status_code == 401
        assert (await login(client, email, PASSWORD)).status_code == 200
        assert gated_hasher.verifications == 3
        answers = await asyncio.gather(*(login(client, email, "wrong!pass") for _ in range(10)))
        assert Counter(a.status_code for a in answers) == {401: 3, 429: 7}
        assert gated_hasher.verifications == 6
        assert_429(await login(client, email, PASSWORD))
        assert gated_hasher.verifications == 6  # refused before the hasher, right or wrong
