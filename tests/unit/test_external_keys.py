"""The external issuer's key cache: every rule of API.md's "External tokens" about keys and
fetching them, with a fake source and a clock the test moves."""

from __future__ import annotations

import asyncio
import time

import pytest
from joserfc.jwk import RSAKey

from adapters.security.external_tokens import JwksVerifier
from adapters.security.jwks_http import max_age
from adapters.security.jwks_keys import JwksKeys, published_key
from application.auth_ports import Jwks
from domain.errors import InvalidToken, TokenExpired, Unavailable
from tests.support.external_issuer import ISSUER, claims_for, mint, public_jwk, signing_key


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """Serves ``keys`` (or fails while ``up`` is false) and counts fetches."""

    def __init__(self, *kids: str, max_age: int | None = None) -> None:
        self.keys = [public_jwk(signing_key(kid=kid)) for kid in kids]
        self.max_age = max_age
        self.up = True
        self.fetches = 0
        self.delay = 0.0

    async def fetch(self) -> Jwks:
        self.fetches += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self.up:
            raise Unavailable(5)
        return Jwks(keys=list(self.keys), max_age=self.max_age)


async def test_keys_are_fetched_once_and_served_from_the_cache_for_ten_minutes() -> None:
    source, clock = FakeSource("a"), Clock()
    keys = JwksKeys(source, clock=clock)
    await keys.get("a")
    clock.now += 599
    await keys.get("a")
    assert source.fetches == 1
    clock.now += 1
    await keys.get("a")
    assert source.fetches == 2


async def test_max_age_zero_refetches_every_time() -> None:
    source, clock = FakeSource("a", max_age=0), Clock()
    keys = JwksKeys(source, clock=clock)
    await keys.get("a")
    await keys.get("a")
    assert source.fetches == 2


async def test_concurrent_requests_share_one_fetch() -> None:
    source, clock = FakeSource("a"), Clock()
    source.delay = 0.05
    keys = JwksKeys(source, clock=clock)
    await asyncio.gather(*(keys.get("a") for _ in range(20)))
    assert source.fetches == 1


async def test_an_unknown_kid_refetches_once_per_30_seconds_and_is_then_401() -> None:
    source, clock = FakeSource("a"), Clock()
    keys = JwksKeys(source, clock=clock)
    await keys.get("a")
    with pytest.raises(InvalidToken):
        await keys.get("b")
    assert source.fetches == 2
    clock.now += 29.9
    with pytest.raises(InvalidToken):
        await keys.get("c")
    assert source.fetches == 2
    clock.now += 0.1
    source.keys.append(public_jwk(signing_key(kid="c")))
    assert (await keys.get("c")).algorithms == {"EdDSA"}
    assert source.fetches == 3


async def test_unreachable_with_nothing_cached_is_unavailable_and_retried_next_time() -> None:
    source, clock = FakeSource("a"), Clock()
    source.up = False
    keys = JwksKeys(source, clock=clock)
    with pytest.raises(Unavailable):
        await keys.get("a")
    assert source.fetches == 1  # not a second time for the same request
    source.up = True
    await keys.get("a")


async def test_unreachable_with_usable_keys_serves_them_for_24_hours_then_unavailable() -> None:
    source, clock = FakeSource("a"), Clock()
    keys = JwksKeys(source, clock=clock)
    await keys.get("a")
    source.up = False
    clock.now += 3600
    await keys.get("a")
    with pytest.raises(InvalidToken):  # something is cached: an unknown kid is a 401
        await keys.get("zzz")
    clock.now += 20 * 3600
    await keys.get("a")
    clock.now += 3 * 3600 + 1
    with pytest.raises(Unavailable):
        await keys.get("a")


async def test_a_failed_refresh_is_retried_after_30_seconds_not_on_every_request() -> None:
    source, clock = FakeSource("a"), Clock()
    keys = JwksKeys(source, clock=clock)
    await keys.get("a")
    source.up = False
    clock.now += 600
    await keys.get("a")
    clock.now += 29
    await keys.get("a")
    assert source.fetches == 2
    clock.now += 1
    source.up = True
    await keys.get("a")
    assert source.fetches == 3


def test_each_key_type_allows_only_its_algorithms() -> None:
    assert published_key(public_jwk(signing_key("EdDSA"))) is not None
    allowed = {
        algorithm: published_key(public_jwk(signing_key(algorithm)))
        for algorithm in ("EdDSA", "ES256", "RS256")
    }
    assert {a: p[1].algorithms for a, p in allowed.items() if p} == {
        "EdDSA": {"EdDSA"},
        "ES256": {"ES256"},
        "RS256": {"RS256", "PS256"},
    }
    rsa = public_jwk(signing_key("RS256"), alg="PS256")
    pinned = published_key(rsa)
    assert pinned is not None
    assert pinned[1].algorithms == {"PS256"}


@pytest.mark.parametrize(
    "members",
    [
        {"use": "enc"},
        {"key_ops": ["encrypt"]},
        {"alg": "HS256"},
        {"kid": None},
    ],
)
def test_keys_not_for_verifying_signatures_are_skipped(members: dict[str, object]) -> None:
    jwk = {k: v for k, v in {**public_jwk(signing_key()), **members}.items() if v is not None}
    assert published_key(jwk) is None


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_symmetric_weak_and_unknown_keys_are_skipped() -> None:
    assert published_key({"kty": "oct", "k": "c2VjcmV0", "kid": "s"}) is None
    assert published_key({"kty": "OKP", "crv": "X25519", "x": "AAAA", "kid": "x"}) is None
    assert published_key({"kty": "EC", "crv": "P-384", "kid": "p", "x": "A", "y": "B"}) is None
    small = RSAKey.generate_key(1024, parameters={"kid": "small"}).as_dict(private=False)
    assert published_key(small) is None
    assert published_key({"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "bad"}) is None


def test_max_age_is_read_from_cache_control() -> None:
    assert max_age("public, max-age=3600") == 3600
    assert max_age("max-age=0") == 0
    assert max_age("no-store") == 0
    assert max_age("s-maxage=60") is None
    assert max_age("") is None


class WallClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_remembered_token_still_expires() -> None:
    source, clock, wall = FakeSource(), Clock(), WallClock()
    key = signing_key(kid="k")
    source.keys = [public_jwk(key)]
    verifier = JwksVerifier(JwksKeys(source, clock=clock), issuer=ISSUER, audience=ISSUER, now=wall)
    token = mint(key, "EdDSA", claims_for("r", iat=int(wall.now), exp=int(wall.now) + 60))
    assert (await verifier.verify(token)).subject == "r"
    assert (await verifier.verify(token)).subject == "r"  # from memory
    wall.now += 60 + 10
    with pytest.raises(TokenExpired):
        await verifier.verify(token)


async def test_a_remembered_token_is_checked_again_when_its_kid_names_another_key() -> None:
    source, clock = FakeSource(), Clock()
    first = signing_key(kid="same")
    source.keys = [public_jwk(first)]
    verifier = JwksVerifier(JwksKeys(source, clock=clock), issuer=ISSUER, audience=ISSUER)
    token = mint(first, "EdDSA", claims_for("r"))
    await verifier.verify(token)
    source.keys = [public_jwk(signing_key(kid="same"))]  # the kid now names another key
    clock.now += 601
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
    source.keys = []
    clock.now += 601
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
