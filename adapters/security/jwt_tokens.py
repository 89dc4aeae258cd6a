"""HS256 access tokens (RFC 9068 style) with joserfc; verification pins everything it can."""

from __future__ import annotations

import math
import time
from datetime import datetime
from uuid import UUID, uuid4

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from application.ports import AccessClaims
from domain.errors import InvalidToken, TokenExpired

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JWT "typ", not a secret
LEEWAY_SECONDS = 10
# Headers that would let a token name its own verification key.
_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"})
# A client sends the same token until it expires: tokens that passed every check are
# remembered (by their whole text, signature included) with their expiry.
VERIFIED_CACHE_SIZE = 4096


class JwtAccessTokens:
    def __init__(self, secret: bytes, *, issuer: str, audience: str, lifetime_seconds: int) -> None:
        self._key = OctKey.import_key(secret)
        self._issuer = issuer
        self._audience = audience
        self._lifetime = lifetime_seconds
        self._verified: dict[str, tuple[AccessClaims, int]] = {}
        self._claims = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            sid={"essential": True},
            jti={"essential": True},
            iat={"essential": True},
        )

    @property
    def access_lifetime_seconds(self) -> int:
        return self._lifetime

    def issue_access(self, user_id: UUID, session_id: UUID, now: datetime) -> str:
        issued_at = math.floor(now.timestamp())
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid4().hex,
            "iat": issued_at,
            "exp": issued_at + self._lifetime,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(
            {"alg": ALGORITHM, "typ": TOKEN_TYPE}, claims, self._key, algorithms=[ALGORITHM]
        )

    def verify_access(self, token: str) -> AccessClaims:
        if (known := self._verified.get(token)) is not None:
            claims, expires = known
            if time.time() < expires + LEEWAY_SECONDS:
                return claims
            del self._verified[token]
        claims, expires = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (claims, expires)
        return claims

    def _verify(self, token: str) -> tuple[AccessClaims, int]:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            header, claims = decoded.header, decoded.claims
            if header.get("typ") != TOKEN_TYPE or _FORBIDDEN_HEADERS & header.keys():
                raise InvalidToken()
            expires, issued = claims.get("exp"), claims.get("iat")
            if not isinstance(expires, int) or not isinstance(issued, int):
                raise InvalidToken()
            # Every other claim first: only an otherwise valid token is "expired".
            self._claims.validate({name: v for name, v in claims.items() if name != "exp"})
            caller = AccessClaims(user_id=UUID(claims["sub"]), session_id=UUID(claims["sid"]))
            if expires <= time.time() - LEEWAY_SECONDS:
                raise TokenExpired()
            return caller, expires
        except InvalidToken:
            raise
        except (
            JoseError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            RecursionError,
        ) as error:
            raise InvalidToken() from error
