"""An external issuer's signing keys, from its JWKS, cached.

Keys are kept for the JWKS's ``Cache-Control: max-age`` (else ten minutes), refetched at once
for an unknown ``kid`` (at most once per 30 s), and stay usable for up to a day while the JWKS
cannot be fetched. Each key allows only the algorithms of its type.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from application.auth_ports import JwksSource
from domain.errors import InvalidToken, Unavailable

DEFAULT_MAX_AGE_SECONDS = 600  # Better Auth sends no Cache-Control
UNKNOWN_KID_REFETCH_SECONDS = 30.0  # at most one refetch for unknown key ids per this
STALE_KEYS_USABLE_SECONDS = 24 * 3600  # while the JWKS cannot be fetched
STALE_REFETCH_SECONDS = 30.0  # with usable keys, a failed refresh waits this long to retry
MIN_RSA_BITS = 2048

Key = OKPKey | ECKey | RSAKey | OctKey
_PUBLIC_MEMBERS = frozenset({"kty", "crv", "x", "y", "n", "e", "kid"})  # never a private part


@dataclass(frozen=True, slots=True)
class PublishedKey:
    key: Key
    algorithms: frozenset[str]  # what a token signed with it may name as its ``alg``


def published_key(jwk: Mapping[str, object]) -> tuple[str, PublishedKey] | None:
    """A usable signing key of a JWKS with its ``kid``; ``None`` for any other entry."""
    kid, kty, crv, alg = jwk.get("kid"), jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if not isinstance(kid, str) or jwk.get("use", "sig") != "sig":
        return None
    if "key_ops" in jwk and not (isinstance(ops := jwk["key_ops"], list) and "verify" in ops):
        return None
    public: dict[str, str | list[str]] = {
        k: v for k, v in jwk.items() if k in _PUBLIC_MEMBERS and isinstance(v, str)
    }
    key: Key
    try:
        if kty == "OKP" and crv == "Ed25519":
            key, algorithms = OKPKey.import_key(public), frozenset({"EdDSA"})
        elif kty == "EC" and crv == "P-256":
            key, algorithms = ECKey.import_key(public), frozenset({"ES256"})
        elif kty == "RSA":
            key, algorithms = RSAKey.import_key(public), frozenset({"RS256", "PS256"})
            if key.raw_value.key_size < MIN_RSA_BITS:
                return None
        else:
            return None
    except (JoseError, ValueError, TypeError) as error:
        del error  # a malformed entry is skipped; the others stay usable
        return None
    if alg is not None:  # a key that names its algorithm allows only that one
        algorithms = algorithms & {alg}
    return (kid, PublishedKey(key, algorithms)) if algorithms else None


class JwksKeys:
    """The issuer's keys by ``kid``, cached.

    Fresh for ``Cache-Control: max-age`` (else 10 minutes), then refetched; an unknown ``kid``
    refetches at once, at most once per 30 seconds. While the set cannot be fetched, keys
    fetched within the last 24 hours stay usable. A key that cannot be had is a 401, unless
    the set cannot be fetched and nothing usable is cached: then the issuer is unavailable.
    One fetch at a time: requests that wait for it share its outcome.
    """

    def __init__(self, source: JwksSource, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._clock = clock
        self._keys: dict[str, PublishedKey] = {}
        self._fetched_at: float | None = None  # of the last successful fetch
        self._fresh_until = -math.inf
        self._retry_at = -math.inf  # after a failed refresh of usable keys
        self._unknown_kid_fetch_at = -math.inf
        self._fetches = 0  # attempts completed so far, success or not
        self._last_failure: Unavailable | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> PublishedKey:
        now = self._clock()
        stale = now >= self._fresh_until and now >= self._retry_at
        if stale:
            await self._fetch(self._fetches)
        if (key := self._usable(self._clock()).get(kid)) is not None:
            return key
        if not stale:
            if now - self._unknown_kid_fetch_at >= UNKNOWN_KID_REFETCH_SECONDS:
                self._unknown_kid_fetch_at = now
                await self._fetch(self._fetches)
            elif self._lock.locked():  # a refetch is under way: its keys may have this one
                await self._fetch(self._fetches)
            if (key := self._usable(self._clock()).get(kid)) is not None:
                return key
        if self._last_failure is not None and not self._usable(self._clock()):
            raise self._last_failure
        raise InvalidToken()

    def _usable(self, now: float) -> dict[str, PublishedKey]:
        fetched = self._fetched_at is not None and now - self._fetched_at <= (
            STALE_KEYS_USABLE_SECONDS
        )
        return self._keys if fetched else {}

    async def _fetch(self, seen: int) -> None:
        """Fetch the set, unless a fetch has completed since ``seen`` were counted (a
        request that waited for a concurrent fetch takes its outcome)."""
        async with self._lock:
            if self._fetches != seen:
                return
            try:
                await self._fetch_now()
            finally:
                self._fetches += 1

    async def _fetch_now(self) -> None:
        try:
            jwks = await self._source.fetch()
        except Unavailable as error:
            self._last_failure = error
            now = self._clock()
            if self._usable(now):  # serve those, and do not wait on the issuer each time
                self._retry_at = now + STALE_REFETCH_SECONDS
            return
        now = self._clock()
        self._keys = dict(filter(None, map(published_key, jwks.keys)))
        self._fetched_at = now
        max_age = DEFAULT_MAX_AGE_SECONDS if jwks.max_age is None else jwks.max_age
        self._fresh_until = now + min(max_age, STALE_KEYS_USABLE_SECONDS)
        self._retry_at = -math.inf
        self._last_failure = None
