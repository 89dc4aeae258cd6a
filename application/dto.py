"""Commands the use cases take and results they give: plain data, no framework types."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.task_listing import TaskQuery
from domain.tasks import KEEP, Keep, Task, TaskChanges
from domain.users import User


@dataclass(frozen=True, slots=True)
class Registration:
    email: str
    password: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    email: str
    password: str


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """``KEEP`` leaves a field as it is; a ``None`` name clears it. Changing the email needs
    the current password."""

    name: str | Keep | None = KEEP
    email: str | Keep = KEEP
    current_password: str | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: User


@dataclass(frozen=True, slots=True)
class TaskWrite:
    task_id: UUID
    changes: TaskChanges
    expected_versions: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    task_id: UUID
    completed: bool | None = None
    expected_versions: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class TaskListing:
    query: TaskQuery
    limit: int
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    total: int
    next_cursor: str | None
