"""The JSON shapes of the HTTP contract (msgspec lives here, at the edge, only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.dto import TokenPair
from domain.tasks import KEEP, Priority, Task, TaskChanges
from domain.users import User

# Fields a client may echo back from a task it read; they are ignored, never written.
TASK_READ_ONLY_FIELDS = frozenset(
    {"id", "user_id", "created_at", "updated_at", "completed_at", "version"}
)


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: Annotated[
        str, Meta(description="8-128 characters, any Unicode; not a common password or the email")
    ]
    name: Annotated[str, Meta(description="1-100 characters")] | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


class RefreshBody(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: str


class LogoutBody(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: str | None = None


class UserRead(msgspec.Struct):
    id: UUID
    email: str
    name: str | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(id=user.id, email=user.email, name=user.name, created_at=user.created_at)


class TokenPairRead(msgspec.Struct):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserRead

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPairRead:
        return cls(
            access_token=pair.access_token,
            token_type="bearer",  # noqa: S106 - the OAuth token type
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            refresh_expires_in=pair.refresh_expires_in,
            user=UserRead.of(pair.user),
        )


# Lengths count code points after NFC normalisation and trimming, so they are described here
# rather than enforced as schema constraints on the raw text.
Title = Annotated[str, Meta(description="1-255 characters; no control characters")]
Description = Annotated[
    str, Meta(description="At most 10,000 characters; tab, LF and CR are the only controls")
]
Tags = Annotated[
    list[str], Meta(description="At most 20 after lower-casing and de-duplication; each 1-50")
]
Category = Annotated[
    str,
    Meta(description="One label such as 'work': 1-50 characters, case kept; empty means none"),
]


class TaskCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    description: Description | None = None
    due_date: date | None = None
    priority: Priority = Priority.MEDIUM
    starred: bool = False
    completed: bool = False
    tags: Tags = []
    category: Category | None = None

    def changes(self) -> TaskChanges:
        return TaskChanges(
            title=self.title,
            description=self.description,
            due_date=self.due_date,
            priority=self.priority,
            starred=self.starred,
            completed=self.completed,
            tags=tuple(self.tags),
            category=self.category,
        )


class TaskUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Fields present are written; absent ones are kept. ``null`` clears a nullable field."""

    title: str | UnsetType = UNSET
    description: str | UnsetType | None = UNSET
    due_date: date | UnsetType | None = UNSET
    priority: Priority | UnsetType = UNSET
    starred: bool | UnsetType = UNSET
    completed: bool | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    category: str | UnsetType | None = UNSET

    def changes(self) -> TaskChanges:
        return TaskChanges(
            title=KEEP if self.title is UNSET else self.title,
            description=KEEP if self.description is UNSET else self.description,
            due_date=KEEP if self.due_date is UNSET else self.due_date,
            priority=KEEP if self.priority is UNSET else self.priority,
            starred=KEEP if self.starred is UNSET else self.starred,
            completed=KEEP if self.completed is UNSET else self.completed,
            tags=KEEP if self.tags is UNSET else tuple(self.tags),
            category=KEEP if self.category is UNSET else self.category,
        )


class CompletionBody(msgspec.Struct, forbid_unknown_fields=True):
    """With ``completed`` the task is set to it; without, it is toggled."""

    completed: bool | UnsetType = UNSET


class TaskRead(msgspec.Struct):
    id: UUID
    title: str
    description: str | None
    due_date: date | None
    priority: Priority
    starred: bool
    completed: bool
    completed_at: datetime | None
    tags: list[str]
    category: str | None
    user_id: UUID
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, task: Task) -> TaskRead:
        return cls(
            id=task.id,
            title=task.title,
            description=task.description,
            due_date=task.due_date,
            priority=task.priority,
            starred=task.starred,
            completed=task.completed,
            completed_at=task.completed_at,
            tags=list(task.tags),
            category=task.category,
            user_id=task.user_id,
            created_at=task.created_at,
            updated_at=task.updated_at,
            version=task.version,
        )


class DeletedCount(msgspec.Struct):
    deleted: int


class Health(msgspec.Struct):
    status: str
