"""Tokens of an external issuer (a Better Auth front end), verified with joserfc.

A token is routed by its ``iss`` to the verifier of that issuer: keys from the issuer's JWKS
(each key allows only the algorithms of its type, and is chosen by ``kid``), or the shared
secret (HS256) for front ends that mint their own tokens with it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

from joserfc import jws, jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OctKey

from adapters.security.jwks_keys import JwksKeys, Key, PublishedKey
from application.ports import ExternalCaller
from domain.errors import InvalidToken, TokenExpired
from domain.text import check_text, has_surrogates

# RFC 9864 deprecates "EdDSA" in favour of "Ed25519"; Better Auth signs with "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

LEEWAY_SECONDS = 10
SUBJECT_MAX_LENGTH = 255
# Headers that would let a token name its own verification key, or demand extensions.
FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit"})
MAX_TOKEN_PART_BYTES = 16 * 1024
LATEST = 253_402_300_800  # 10000-01-01T00:00:00Z
VERIFIED_CACHE_SIZE = 4096


class IssuerVerifier(Protocol):
    """Verifies the tokens of one issuer."""

    issuer: str

    async def verify(self, token: str) -> ExternalCaller: ...


class ExternalTokenRouter:
    """Hands a token to the verifier of the issuer it claims; ``None`` for other issuers."""

    def __init__(self, verifiers: Mapping[str, IssuerVerifier]) -> None:
        self._verifiers = dict(verifiers)

    async def verify(self, token: str) -> ExternalCaller | None:
        issuer = claimed_issuer(token)
        verifier = self._verifiers.get(issuer) if issuer is not None else None
        return await verifier.verify(token) if verifier is not None else None


def claimed_issuer(token: str) -> str | None:
    """The ``iss`` a compact JWS claims, unverified: only to choose who verifies it."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > MAX_TOKEN_PART_BYTES:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):  # binascii.Error and JSON errors are ValueErrors
        return None
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    return issuer if isinstance(issuer, str) else None


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What every external token must claim, whoever signed it."""

    issuer: str
    audience: str

    def caller(self, claims: dict[str, Any], now: float) -> ExternalCaller:
        """Every rule but ``exp`` first: only an otherwise valid token is "expired"."""
        subject, issued_at, expires = claims.get("sub"), claims.get("iat"), claims.get("exp")
        if (
            claims.get("iss") != self.issuer
            or not _audience_matches(claims.get("aud"), self.audience)
            or not _is_subject(subject)
            or not _is_time(issued_at)
            or not _is_time(expires)
            or issued_at > now + LEEWAY_SECONDS  # issued in the future: it would outlive logouts
        ):
            raise InvalidToken()
        not_before = claims.get("nbf")
        if not_before is not None and (
            not _is_time(not_before) or not_before > now + LEEWAY_SECONDS
        ):
            raise InvalidToken()
        if expires <= now - LEEWAY_SECONDS:
            raise TokenExpired()
        return ExternalCaller(
            issuer=self.issuer,
            subject=subject,
            issued_at=math.floor(issued_at),
            email=_text(claims.get("email"), 254),
            name=_text(claims.get("name"), 100),
        )


def _audience_matches(audience: object, expected: str) -> bool:
    if isinstance(audience, str):
        return audience == expected
    return isinstance(audience, list) and expected in audience


def _is_subject(subject: object) -> TypeGuard[str]:
    # Stored as text: NUL and lone surrogates cannot be, so such a subject is no subject.
    return (
        isinstance(subject, str)
        and 1 <= len(subject) <= SUBJECT_MAX_LENGTH
        and "\x00" not in subject
        and not has_surrogates(subject)
    )


def _is_time(value: object) -> TypeGuard[int | float]:
    # A NumericDate a datetime can hold: from 1970 to before the year 10000.
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < LATEST


def _text(value: object, max_length: int) -> str | None:
    """A profile claim as the account rules would take it, or nothing."""
    if not isinstance(value, str):
        return None
    cleaned, error = check_text("claim", value, min_length=1, max_length=max_length)
    return None if error else cleaned


def _checked_header(token: str) -> dict[str, Any]:
    try:
        header = dict(jws.extract_compact(token.encode("ascii")).protected)
    except (JoseError, ValueError, TypeError, RecursionError) as error:
        raise InvalidToken() from error
    if FORBIDDEN_HEADERS & header.keys():
        raise InvalidToken()
    return header


def _decode(token: str, key: Key, algorithm: str) -> dict[str, Any]:
    try:
        return dict(jwt.decode(token, key, algorithms=[algorithm]).claims)
    except (JoseError, ValueError, TypeError, KeyError, RecursionError) as error:
        raise InvalidToken() from error


class VerifiedTokens:
    """Tokens that passed every check, by their whole text: a client sends the same token
    until it expires, and a look-up is far cheaper than a signature. An entry of a JWKS token
    holds only while the key that verified it is still the one published under its ``kid``."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[ExternalCaller, float, str, PublishedKey | None]] = {}

    def get(self, token: str, now: float) -> tuple[ExternalCaller, str, PublishedKey | None]:
        """Raises ``KeyError`` for a token not (or no longer) remembered."""
        caller, expires, kid, key = self._entries[token]
        if now >= expires + LEEWAY_SECONDS:
            del self._entries[token]
            raise KeyError(token)
        return caller, kid, key

    def remember(
        self,
        token: str,
        caller: ExternalCaller,
        claims: dict[str, Any],
        kid: str = "",
        key: PublishedKey | None = None,
    ) -> None:
        if len(self._entries) >= VERIFIED_CACHE_SIZE:
            self._entries.clear()
        self._entries[token] = (caller, float(claims["exp"]), kid, key)

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)


class SharedSecretVerifier:
    """HS256 tokens signed with ``BETTER_AUTH_SECRET``, from one issuer."""

    def __init__(
        self, secret: bytes, *, issuer: str, audience: str, now: Callable[[], float] = time.time
    ) -> None:
        self.issuer = issuer
        self._key = OctKey.import_key(secret)
        self._rules = ClaimRules(issuer, audience)
        self._now = now
        self._verified = VerifiedTokens()

    async def verify(self, token: str) -> ExternalCaller:
        now = self._now()
        with contextlib.suppress(KeyError):
            return self._verified.get(token, now)[0]
        if _checked_header(token).get("alg") != "HS256":
            raise InvalidToken()
        claims = _decode(token, self._key, "HS256")
        caller = self._rules.caller(claims, now)
        self._verified.remember(token, caller, claims)
        return caller


class JwksVerifier:
    """Tokens signed with a key of the issuer's JWKS."""

    def __init__(
        self, keys: JwksKeys, *, issuer: str, audience: str, now: Callable[[], float] = time.time
    ) -> None:
        self.issuer = issuer
        self._keys = keys
        self._rules = ClaimRules(issuer, audience)
        self._now = now
        self._verified = VerifiedTokens()

    async def verify(self, token: str) -> ExternalCaller:
        now = self._now()
        if (remembered := await self._remembered(token, now)) is not None:
            return remembered
        header = _checked_header(token)
        kid, algorithm = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not isinstance(algorithm, str):
            raise InvalidToken()
        published = await self._keys.get(kid)
        if algorithm not in published.algorithms:
            raise InvalidToken()
        claims = _decode(token, published.key, algorithm)
        caller = self._rules.caller(claims, now)
        self._verified.remember(token, caller, claims, kid, published)
        return caller

    async def _remembered(self, token: str, now: float) -> ExternalCaller | None:
        try:
            caller, kid, key = self._verified.get(token, now)
        except KeyError:
            return None
        try:
            current = await self._keys.get(kid)  # the cache's rules apply as to any token
        except InvalidToken:
            self._verified.forget(token)
            raise
        if current is key:  # still the key published under that kid
            return caller
        self._verified.forget(token)
        return None
