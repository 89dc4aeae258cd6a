"""In-memory stand-ins for the ports. Storage fakes are the memory adapters themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.memory.repositories import MemorySessionRepository, MemoryUserRepository
from adapters.memory.store import MemoryStore
from adapters.memory.tasks import MemoryTaskRepository
from adapters.memory.unit_of_work import MemoryUnitOfWork
from application.ports import AccessClaims
from domain.errors import AuthenticationRequired, InvalidToken

__all__ = [
    "FakeClock",
    "FakeHasher",
    "FakeIdentity",
    "FakeLimiter",
    "FakeTokens",
    "MemorySessionRepository",
    "MemoryStore",
    "MemoryTaskRepository",
    "MemoryUnitOfWork",
    "MemoryUserRepository",
    "SequentialIds",
]


@dataclass
class FakeClock:
    current: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class SequentialIds:
    counter: int = 0

    def new_id(self) -> UUID:
        self.counter += 1
        return UUID(int=self.counter)


@dataclass
class FakeHasher:
    """Reversible "hashes" so tests can see what was stored; ``version`` marks outdated ones."""

    version: int = 2
    dummy_verifications: int = 0

    async def hash(self, password: str) -> str:
        return f"fake-v{self.version}${password}"

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash.split("$", 1)[1] == password

    async def verify_dummy(self, password: str) -> None:
        self.dummy_verifications += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"fake-v{self.version}$")


@dataclass
class FakeTokens:
    access_lifetime_seconds: int = 900

    def issue_access(self, user_id: UUID, session_id: UUID, now: datetime) -> str:
        return f"{user_id}:{session_id}"

    def verify_access(self, token: str) -> AccessClaims:
        try:
            user_id, session_id = token.split(":")
            return AccessClaims(UUID(user_id), UUID(session_id))
        except ValueError as error:
            raise InvalidToken() from error


@dataclass
class FakeIdentity:
    claims: AccessClaims | None

    async def current(self) -> AccessClaims:
        if self.claims is None:
            raise AuthenticationRequired()
        return self.claims


@dataclass
class FakeLimiter:
    limit: int = 5
    failures: dict[str, int] = field(default_factory=dict)

    async def hit(self, key: str) -> int | None:
        """Count an attempt before its outcome; one over the limit is refused, not counted."""
        if self.failures.get(key, 0) >= self.limit:
            return 60
        self.failures[key] = self.failures.get(key, 0) + 1
        return None

    async def reset(self, key: str) -> None:
        self.failures.pop(key, None)
