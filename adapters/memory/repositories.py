"""In-memory repositories with the same behaviour as the PostgreSQL ones.

Each method runs without awaiting, so on one event loop it is as atomic as a single SQL statement.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

from adapters.memory.store import MemoryStore, StoredSession
from application.external_callers import not_before_after
from application.ports import AccessClaims, Clock, ProfileChanges, Reused, Rotated
from domain.errors import EmailTaken
from domain.tasks import KEEP, Task
from domain.users import Session, User, email_key


def session_is_live(store: MemoryStore, caller: AccessClaims, clock: Clock) -> bool:
    stored = store.sessions.get(caller.session_id)
    return (
        stored is not None
        and stored.session.user_id == caller.user_id
        and stored.revoked_at is None
        and stored.session.expires_at > clock.now()
        and (stored.not_before is None or _issued_since(caller, stored.not_before))
    )


def _issued_since(caller: AccessClaims, not_before: datetime) -> bool:
    issued = caller.external.issued_at if caller.external is not None else None
    return issued is not None and datetime.fromtimestamp(issued, UTC) >= not_before


def _end_external_tokens(store: MemoryStore, caller: AccessClaims, clock: Clock) -> bool:
    if not session_is_live(store, caller, clock):
        return False
    stored = store.sessions[caller.session_id]
    not_before = not_before_after(clock.now())
    stored.not_before = max(stored.not_before or not_before, not_before)
    return True


class MemoryUserRepository:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add(self, user: User) -> None:
        if await self.by_email(user.email) is not None:
            raise EmailTaken()
        self._store.users[user.id] = user

    async def by_email(self, email: str) -> User | None:
        key = email_key(email)
        # External accounts are keyed by their issuer's subject, never found by email.
        external = {a.user_id for a in self._store.external_identities.values()}
        return next(
            (
                u
                for u in self._store.users.values()
                if email_key(u.email) == key and u.id not in external
            ),
            None,
        )

    async def get(self, user_id: UUID) -> User | None:
        return self._store.users.get(user_id)

    async def current(self, caller: AccessClaims) -> User | None:
        if not session_is_live(self._store, caller, self._clock):
            return None
        return self._store.users.get(caller.user_id)

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        user = self._store.users.get(user_id)
        if user is not None:  # as an UPDATE that matches no row: nothing, and no error
            self._store.users[user_id] = replace(user, password_hash=password_hash)

    async def update_profile(self, caller: AccessClaims, changes: ProfileChanges) -> User | None:
        if not session_is_live(self._store, caller, self._clock):
            return None
        user = self._store.users[caller.user_id]
        if changes.name is not KEEP:
            user = replace(user, name=changes.name)
        if changes.email is not KEEP:
            holder = await self.by_email(changes.email)
            if holder is not None and holder.id != user.id:
                raise EmailTaken()
            user = replace(user, email=changes.email)
            forget_resets(self._store, user.id)
        self._store.users[user.id] = user
        return user

    async def change_password(self, caller: AccessClaims, password_hash: str) -> bool:
        if not session_is_live(self._store, caller, self._clock):
            return False
        now = self._clock.now()
        for stored in self._store.sessions.values():
            mine = stored.session.user_id == caller.user_id
            if mine and stored.session.id != caller.session_id and stored.revoked_at is None:
                stored.revoked_at = now
        forget_resets(self._store, caller.user_id)
        await self.set_password_hash(caller.user_id, password_hash)
        return True

    async def delete(self, caller: AccessClaims) -> bool:
        if not session_is_live(self._store, caller, self._clock):
            return False
        # What the foreign keys cascade to on PostgreSQL.
        store, user_id = self._store, caller.user_id
        for table in (store.tasks, store.sessions):
            for key in [k for k, v in table.items() if _owner(v) == user_id]:
                del table[key]
        forget_resets(store, user_id)
        del store.users[user_id]
        return True


def _owner(row: Task | StoredSession) -> UUID:
    return row.user_id if isinstance(row, Task) else row.session.user_id


def forget_resets(store: MemoryStore, user_id: UUID) -> None:
    """Drop the pending password resets of ``user_id``."""
    doomed = [h for h, r in store.password_resets.items() if r.user_id == user_id]
    for token_hash in doomed:
        del store.password_resets[token_hash]


class MemorySessionRepository:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def start(self, session: Session, refresh_hash: bytes, *, max_sessions: int) -> None:
        now = session.created_at
        mine = [s for s in self._store.sessions.values() if s.session.user_id == session.user_id]
        dead = [s for s in mine if s.revoked_at is not None or s.session.expires_at <= now]
        live = sorted(
            (s for s in mine if s.revoked_at is None and s.session.expires_at > now),
            key=lambda s: (s.last_used(), s.session.id),
            reverse=True,
        )
        for stale in [*dead, *live[max(0, max_sessions - 1) :]]:
            del self._store.sessions[stale.session.id]
        self._store.sessions[session.id] = StoredSession(session, refresh_hash)

    def _presented(
        self, session_id: UUID, refresh_hash: bytes, now: datetime
    ) -> StoredSession | Reused | None:
        """The live session whose current token was presented; a token it no longer holds
        is reuse, and revokes it."""
        stored = self._store.sessions.get(session_id)
        if stored is None:
            return None
        if stored.refresh_hash != refresh_hash:
            stored.revoked_at = stored.revoked_at or now
            return Reused(session_id=session_id, user_id=stored.session.user_id)
        if stored.revoked_at is not None or stored.session.expires_at <= now:
            return None
        return stored

    async def rotate(
        self, session_id: UUID, old_hash: bytes, new_hash: bytes, now: datetime
    ) -> Rotated | Reused | None:
        stored = self._presented(session_id, old_hash, now)
        if not isinstance(stored, StoredSession):
            return stored
        user = self._store.users.get(stored.session.user_id)
        if user is None:
            return None
        stored.refresh_hash, stored.refreshed_at = new_hash, now
        return Rotated(stored.session, user)

    async def revoke_by_refresh(
        self, session_id: UUID, refresh_hash: bytes, now: datetime
    ) -> bool | Reused:
        stored = self._presented(session_id, refresh_hash, now)
        if not isinstance(stored, StoredSession):
            return stored or False
        stored.revoked_at = now
        return True

    async def is_active(self, caller: AccessClaims) -> bool:
        return session_is_live(self._store, caller, self._clock)

    async def revoke(self, caller: AccessClaims) -> bool:
        if caller.external is not None:
            return _end_external_tokens(self._store, caller, self._clock)
        if not session_is_live(self._store, caller, self._clock):
            return False
        self._store.sessions[caller.session_id].revoked_at = self._clock.now()
        return True

    async def revoke_all(self, caller: AccessClaims) -> bool:
        if caller.external is not None:  # the only session of an external user
            return _end_external_tokens(self._store, caller, self._clock)
        if not session_is_live(self._store, caller, self._clock):
            return False
        now = self._clock.now()
        for stored in self._store.sessions.values():
            if stored.session.user_id == caller.user_id and stored.revoked_at is None:
                stored.revoked_at = now
        return True
