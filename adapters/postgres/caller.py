"""What every statement acting for a caller shares: the caller's parameters and the condition
that the caller's session is live."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from adapters.postgres.compiled import param
from adapters.postgres.tables import sessions
from application.ports import AccessClaims, Clock

NOW = param("now", sessions.c.expires_at)
CALLER_USER = param("caller_user", sessions.c.user_id)
CALLER_SESSION = param("caller_session", sessions.c.id)
# When an external caller's token was issued (NULL for the service's own tokens).
CALLER_ISSUED = param("caller_issued", sessions.c.not_before)


# The caller's session row, while it is live. An external user's session stays live, but not
# for the tokens issued before its ``not_before`` (NULL on every other session).
CALLERS_LIVE_SESSION = (
    sessions.c.id == CALLER_SESSION,
    sessions.c.user_id == CALLER_USER,
    sessions.c.revoked_at.is_(None),
    sessions.c.expires_at > NOW,
    sa.or_(sessions.c.not_before.is_(None), sessions.c.not_before <= CALLER_ISSUED),
)


def live_session() -> sa.Exists:
    """The caller's session is live: the condition every statement acting for a caller has."""
    return sa.exists().where(*CALLERS_LIVE_SESSION)


def caller_values(caller: AccessClaims, clock: Clock) -> dict[str, Any]:
    return {
        "caller_user": caller.user_id,
        "caller_session": caller.session_id,
        "now": clock.now(),
        "caller_issued": (
            None
            if caller.external is None
            else datetime.fromtimestamp(caller.external.issued_at, UTC)
        ),
    }


def affected(status: str) -> int:
    """Rows a command touched, from its status tag (``UPDATE 3``, ``INSERT 0 1``)."""
    return int(status.rsplit(" ", 1)[-1])
