"""Pending password resets in memory, with the PostgreSQL adapter's behaviour."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from adapters.memory.repositories import forget_resets
from adapters.memory.store import MemoryStore, StoredReset
from domain.users import User, email_key


class MemoryPasswordResetRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def issue(
        self, email: str, token_hash: bytes, now: datetime, expires_at: datetime
    ) -> User | None:
        key = email_key(email)
        user = next((u for u in self._store.users.values() if email_key(u.email) == key), None)
        if user is None:
            return None
        resets = self._store.password_resets
        for expired in [
            h for h, r in resets.items() if r.user_id == user.id and r.expires_at <= now
        ]:
            del resets[expired]
        resets[token_hash] = StoredReset(user.id, now, expires_at)
        return user

    async def holder(self, token_hash: bytes, now: datetime) -> User | None:
        reset = self._store.password_resets.get(token_hash)
        if reset is None or reset.expires_at <= now:
            return None
        return self._store.users.get(reset.user_id)

    async def redeem(self, token_hash: bytes, password_hash: str, now: datetime) -> bool:
        user = await self.holder(token_hash, now)
        if user is None:
            return False
        del self._store.password_resets[token_hash]
        forget_resets(self._store, user.id)
        for stored in self._store.sessions.values():
            if stored.session.user_id == user.id and stored.revoked_at is None:
                stored.revoked_at = now
        self._store.users[user.id] = replace(user, password_hash=password_hash)
        return True
