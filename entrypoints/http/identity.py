"""Who is calling: the bearer token of this request.

Only the token is checked here (no database): whether its session is still live is a condition
of the statement the use case runs, so logout anywhere takes effect on the very next request
without a look-up of its own.
"""

from __future__ import annotations

from application.ports import AccessClaims, TokenVerifier
from domain.errors import AuthenticationRequired, InvalidToken


class BearerIdentity:
    """Request-scoped; verifies once, however many times a request asks."""

    def __init__(self, authorization: str | None, verifier: TokenVerifier) -> None:
        self._authorization = authorization
        self._verifier = verifier
        self._claims: AccessClaims | None = None

    async def current(self) -> AccessClaims:
        if self._claims is None:
            self._claims = self._authenticate()
        return self._claims

    def _authenticate(self) -> AccessClaims:
        if not self._authorization:
            raise AuthenticationRequired()
        scheme, _, token = self._authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken()
        return self._verifier.verify_access(token.strip())
