"""Who is calling: the bearer token of this request, checked against its live session."""

from __future__ import annotations

from application.ports import AccessClaims, Clock, SessionRepository, TokenVerifier
from domain.errors import InvalidToken


class BearerIdentity:
    """Request-scoped; verifies once, however many times a request asks."""

    def __init__(
        self,
        authorization: str | None,
        verifier: TokenVerifier,
        sessions: SessionRepository,
        clock: Clock,
    ) -> None:
        self._authorization = authorization
        self._verifier = verifier
        self._sessions = sessions
        self._clock = clock
        self._claims: AccessClaims | None = None

    async def current(self) -> AccessClaims:
        if self._claims is None:
            self._claims = await self._authenticate()
        return self._claims

    async def _authenticate(self) -> AccessClaims:
        scheme, _, token = (self._authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken(token_sent=bool(self._authorization))
        claims = self._verifier.verify_access(token.strip())
        # One primary-key lookup: logout anywhere takes effect on the very next request.
        if not await self._sessions.is_active(claims.session_id, claims.user_id, self._clock.now()):
            raise InvalidToken()
        return claims
