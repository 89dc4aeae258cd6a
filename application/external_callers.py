"""Callers with a token of an external issuer (a Better Auth front end): the local account
their (issuer, subject) maps to, linked on first use."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.auth_ports import ExternalAccount, ExternalAccounts, ExternalTokenVerifier
from application.ports import AccessClaims

# An external account has no password: this is no hash, so no password ever verifies.
NO_PASSWORD = "!external"  # noqa: S105 - a marker, not a secret


def external_email_key(user_id: UUID) -> str:
    """What an external account has where a local one has its email's key: never an email
    (no "@"), so never a local account's, and found by no login."""
    return f"external:{user_id}"


def not_before_after(logout: datetime) -> datetime:
    """The first moment a token may be issued at to outlive a logout at ``logout``: the
    tokens issued in that whole second or before it fail."""
    return datetime.fromtimestamp(math.floor(logout.timestamp()), UTC) + timedelta(seconds=1)


# Links already made by this process, so a request costs no look-up of its own; a link never
# changes, so a forgotten one is only made again (the same account comes back).
KNOWN_LINKS = 10_000


class ExternalCallers:
    """Process-wide: verifies external tokens and remembers the accounts they map to."""

    def __init__(self, tokens: ExternalTokenVerifier, accounts: ExternalAccounts) -> None:
        self._tokens = tokens
        self._accounts = accounts
        self._known: dict[tuple[str, str], ExternalAccount] = {}

    async def caller(self, token: str) -> AccessClaims | None:
        """The caller an external token names; ``None`` when it claims no issuer accepted
        here. Raises as ``ExternalTokenVerifier.verify`` does."""
        external = await self._tokens.verify(token)
        if external is None:
            return None
        key = (external.issuer, external.subject)
        account = self._known.get(key)
        if account is None:
            account = await self._accounts.link(external)
            if len(self._known) >= KNOWN_LINKS:
                self._known.clear()
            self._known[key] = account
        return AccessClaims(account.user_id, account.session_id, external)
