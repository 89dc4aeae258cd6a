"""What every statement acting for a caller shares: the caller's parameters and the condition
that the caller's session is live."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from adapters.postgres.compiled import param
from adapters.postgres.tables import sessions
from application.ports import AccessClaims, Clock

NOW = param("now", sessions.c.expires_at)
CALLER_USER = param("caller_user", sessions.c.user_id)
CALLER_SESSION = param("caller_session", sessions.c.id)


# The caller's session row, while it is live.
CALLERS_LIVE_SESSION = (
    sessions.c.id == CALLER_SESSION,
    sessions.c.user_id == CALLER_USER,
    sessions.c.revoked_at.is_(None),
    sessions.c.expires_at > NOW,
)


def live_session() -> sa.Exists:
    """The caller's session is live: the condition every statement acting for a caller has."""
    return sa.exists().where(*CALLERS_LIVE_SESSION)


def caller_values(caller: AccessClaims, clock: Clock) -> dict[str, Any]:
    return {
        "caller_user": caller.user_id,
        "caller_session": caller.session_id,
        "now": clock.now(),
    }


def affected(status: str) -> int:
    """Rows a command touched, from its status tag (``UPDATE 3``, ``INSERT 0 1``)."""
    return int(status.rsplit(" ", 1)[-1])
