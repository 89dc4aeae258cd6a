"""External identities in memory, as on PostgreSQL: (issuer, subject) → an account of its own
with one session, linked on first use."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from adapters.memory.store import MemoryStore, StoredSession
from application.auth_ports import ExternalAccount
from application.external_callers import NO_PASSWORD
from application.ports import Clock, ExternalCaller, IdGenerator
from domain.users import Session, User

_NEVER = datetime.max.replace(tzinfo=UTC)


class MemoryExternalAccounts:
    def __init__(self, store: MemoryStore, ids: IdGenerator, clock: Clock) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock

    async def link(self, caller: ExternalCaller) -> ExternalAccount:
        # No await in here: on one event loop, concurrent first uses cannot interleave.
        key = (caller.issuer, caller.subject)
        if (account := self._store.external_identities.get(key)) is not None:
            user = self._store.users.get(account.user_id)
            if user is not None:
                email, name = caller.email or user.email, caller.name or user.name
                if (email, name) != (user.email, user.name):
                    self._store.users[user.id] = replace(user, email=email, name=name)
            return account
        account = ExternalAccount(user_id=self._ids.new_id(), session_id=self._ids.new_id())
        now = self._clock.now()
        self._store.users[account.user_id] = User(
            account.user_id, caller.email or "", caller.name, NO_PASSWORD, now
        )
        session = Session(account.session_id, account.user_id, now, _NEVER)
        self._store.sessions[account.session_id] = StoredSession(session, refresh_hash=b"")
        self._store.external_identities[key] = account
        return account
