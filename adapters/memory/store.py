"""Process-wide in-memory storage for ``TODO_STORAGE=memory`` and for fast tests.

Writes can be undone: while a unit of work is open in the current context (one request's
task), every write to a table or to a stored session notes how to take it back. Only that
request's writes are noted, so rolling them back never touches what concurrent requests wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, TypeVar
from uuid import UUID

from application.auth_ports import ExternalAccount
from domain.tasks import Task
from domain.users import Session, User

K = TypeVar("K")
V = TypeVar("V")


class _Gone:
    """Marks a key a table did not hold."""


_GONE: Final = _Gone()


class Journal:
    """How to undo the writes of one unit of work, oldest first."""

    __slots__ = ("_steps", "open")

    def __init__(self) -> None:
        self._steps: list[Callable[[], None]] = []
        self.open = True

    def note(self, undo: Callable[[], None]) -> None:
        self._steps.append(undo)

    def close(self) -> None:
        self.open = False
        self._steps.clear()

    def undo(self) -> None:
        steps, self._steps = self._steps, []
        self.open = False
        for step in reversed(steps):
            step()


_journal: ContextVar[Journal | None] = ContextVar("memory_journal", default=None)


def journal_writes(journal: Journal | None) -> None:
    """Note this context's writes in ``journal`` from now on (``None``: stop noting them)."""
    _journal.set(journal)


def _open_journal() -> Journal | None:
    journal = _journal.get()
    return journal if journal is not None and journal.open else None


class Table(dict[K, V]):
    """A dict whose item writes (``table[key] = value``, ``del table[key]``: the only writes
    the repositories make) can be undone. An undo restores an entry only while it still holds
    what this write put there, so a later write by another request stands."""

    __slots__ = ()

    def __setitem__(self, key: K, value: V) -> None:
        self._note(key, value)
        super().__setitem__(key, value)

    def __delitem__(self, key: K) -> None:
        self._note(key, _GONE)
        super().__delitem__(key)

    def _note(self, key: K, new: V | _Gone) -> None:
        if (journal := _open_journal()) is None:
            return
        old: V | _Gone = self.get(key, _GONE)

        def undo() -> None:
            if self.get(key, _GONE) is not new:
                return
            if isinstance(old, _Gone):
                dict.__delitem__(self, key)
            else:
                dict.__setitem__(self, key, old)

        journal.note(undo)


@dataclass(slots=True)
class StoredSession:
    session: Session
    refresh_hash: bytes
    revoked_at: datetime | None = None
    refreshed_at: datetime | None = None
    not_before: datetime | None = None  # an external user's: tokens issued before it fail

    def last_used(self) -> datetime:
        return self.refreshed_at or self.session.created_at

    def __setattr__(self, name: str, value: object) -> None:
        # Sessions are changed in place (revoked, rotated): those writes are noted too.
        journal = _open_journal()
        if journal is not None and hasattr(self, name):  # not while it is being built
            old = getattr(self, name)

            def undo() -> None:
                if getattr(self, name) is value:
                    object.__setattr__(self, name, old)

            journal.note(undo)
        object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class StoredReset:
    """A pending password reset, kept under the hash of its token."""

    user_id: UUID
    created_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class MemoryStore:
    users: Table[UUID, User] = field(default_factory=Table)
    sessions: Table[UUID, StoredSession] = field(default_factory=Table)
    tasks: Table[UUID, Task] = field(default_factory=Table)
    # (issuer, subject) of an external user → its account and session
    external_identities: Table[tuple[str, str], ExternalAccount] = field(default_factory=Table)
    password_resets: Table[bytes, StoredReset] = field(default_factory=Table)
