"""Who is calling: the bearer token of this request.

Only the token is checked here (no database): whether its session is still live is a condition
of the statement the use case runs, so logout anywhere takes effect on the very next request
without a look-up of its own.
"""

from __future__ import annotations

from application.auth_ports import TokenVerifier
from application.external_callers import ExternalCallers
from application.ports import AccessClaims
from domain.errors import AuthenticationRequired, InvalidToken


class BearerIdentity:
    """Request-scoped; verifies once, however many times a request asks.

    A token is the service's own first (nothing else is tried for those); one the service's
    rules refuse outright goes to the external issuer it claims, if that one is accepted."""

    def __init__(
        self, authorization: str | None, verifier: TokenVerifier, external: ExternalCallers
    ) -> None:
        self._authorization = authorization
        self._verifier = verifier
        self._external = external
        self._claims: AccessClaims | None = None

    async def current(self) -> AccessClaims:
        if self._claims is None:
            token = self._token()
            try:
                self._claims = self._verifier.verify_access(token)
            except InvalidToken as refused:
                # Expired or ended is the service's own token's answer: it stands.
                if type(refused) is not InvalidToken:
                    raise
                external = await self._external.caller(token)
                if external is None:
                    raise
                self._claims = external
        return self._claims

    def _token(self) -> str:
        if not self._authorization:
            raise AuthenticationRequired()
        scheme, _, token = self._authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken()
        return token.strip()
