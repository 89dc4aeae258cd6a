"""Process-wide in-memory storage for ``TODO_STORAGE=memory`` and for fast tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.tasks import Task
from domain.users import Session, User


@dataclass(slots=True)
class StoredSession:
    session: Session
    refresh_hash: bytes
    revoked_at: datetime | None = None
    refreshed_at: datetime | None = None

    def last_used(self) -> datetime:
        return self.refreshed_at or self.session.created_at


@dataclass(slots=True)
class MemoryStore:
    users: dict[UUID, User] = field(default_factory=dict)
    sessions: dict[UUID, StoredSession] = field(default_factory=dict)
    tasks: dict[UUID, Task] = field(default_factory=dict)
