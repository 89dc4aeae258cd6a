"""External identities on PostgreSQL: (issuer, subject) → a local account with one session,
linked on first use; and the logout of external tokens, which moves that session's
``not_before``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from adapters.postgres.caller import CALLERS_LIVE_SESSION, caller_values
from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.database import ConnectionPool, Database
from adapters.postgres.tables import external_identities, sessions, users
from application.auth_ports import ExternalAccount
from application.external_callers import NO_PASSWORD, external_email_key, not_before_after
from application.ports import AccessClaims, Clock, ExternalCaller, IdGenerator


def _link() -> Compiled:
    """Link (issuer, subject) to an account: one statement. The link is inserted, or found
    (``DO UPDATE`` returns the row a concurrent first use inserted, after waiting for it);
    only when it is new are the account and its session made, with the ids proposed. A link
    found has its account's email and name brought up to date."""
    now = param("now", users.c.created_at)
    proposed_user = param("user_id", users.c.id)
    email, name = param("email", users.c.email), param("name", users.c.name)
    inserted = pg.insert(external_identities).values(
        issuer=param("issuer", external_identities.c.issuer),
        subject=param("subject", external_identities.c.subject),
        user_id=proposed_user,
        session_id=param("session_id", sessions.c.id),
        created_at=now,
    )
    link = (
        inserted.on_conflict_do_update(
            index_elements=[external_identities.c.issuer, external_identities.c.subject],
            set_={"subject": inserted.excluded.subject},
        )
        .returning(external_identities.c.user_id, external_identities.c.session_id)
        .cte("link")
    )
    is_new = link.c.user_id == proposed_user
    new_user = users.insert().from_select(
        ["id", "email", "email_key", "name", "password_hash", "created_at"],
        sa.select(
            link.c.user_id,
            sa.func.coalesce(email, sa.literal_column("''")),
            param("email_key", users.c.email_key),
            name,
            param("password_hash", users.c.password_hash),
            now,
        ).where(is_new),
    )
    new_session = sessions.insert().from_select(
        ["id", "user_id", "created_at", "expires_at"],
        sa.select(
            link.c.session_id,
            link.c.user_id,
            now,
            sa.literal_column("'infinity'::timestamptz"),
        ).where(is_new),
    )
    profile = (
        sa.func.coalesce(email, users.c.email),
        sa.func.coalesce(name, users.c.name),
    )
    refreshed = (
        users.update()
        .where(
            users.c.id == link.c.user_id,
            ~is_new,
            sa.tuple_(users.c.email, users.c.name).is_distinct_from(sa.tuple_(*profile)),
        )
        .values(email=profile[0], name=profile[1])
    )
    return compile_sql(
        sa.select(link.c.user_id, link.c.session_id).add_cte(
            new_user.cte("new_user"), new_session.cte("new_session"), refreshed.cte("refreshed")
        )
    )


_LINK = _link()
# Logout with an external token: its session ends for every token issued up to now.
_END_EXTERNAL_TOKENS = compile_sql(
    sessions.update()
    .where(*CALLERS_LIVE_SESSION)
    .values(
        not_before=sa.func.greatest(
            sessions.c.not_before, param("not_before", sessions.c.not_before)
        )
    )
    .returning(sessions.c.id)
)


class PostgresExternalAccounts:
    """Process-wide (a link is made outside any request's unit of work)."""

    def __init__(self, pool: ConnectionPool, ids: IdGenerator, clock: Clock) -> None:
        self._pool = pool
        self._ids = ids
        self._clock = clock

    async def link(self, caller: ExternalCaller) -> ExternalAccount:
        user_id = self._ids.new_id()
        values = {
            "issuer": caller.issuer,
            "subject": caller.subject,
            "user_id": user_id,
            "session_id": self._ids.new_id(),
            "now": self._clock.now(),
            "email": caller.email,
            "name": caller.name,
            "email_key": external_email_key(user_id),
            "password_hash": NO_PASSWORD,
        }
        db = Database(self._pool)
        try:
            # Safe to repeat: a link made by a lost first attempt is found by the second.
            row = await db.fetchrow(_LINK.sql, *_LINK.args(**values), idempotent=True)
        finally:
            await db.close()
        return ExternalAccount(user_id=row["user_id"], session_id=row["session_id"])


async def end_external_tokens(db: Database, caller: AccessClaims, clock: Clock) -> bool:
    """Logout with an external token; ``False`` if the caller's session had ended."""
    values = caller_values(caller, clock)
    row = await db.fetchrow(
        _END_EXTERNAL_TOKENS.sql,
        *_END_EXTERNAL_TOKENS.args(**values, not_before=not_before_after(values["now"])),
    )
    return row is not None
