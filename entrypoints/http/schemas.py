"""The JSON shapes of the HTTP contract (msgspec lives here, at the edge, only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from application.dto import TokenPair
from domain.errors import FieldError, ValidationFailed
from domain.tasks import (
    KEEP,
    Priority,
    Task,
    TaskChanges,
    clean_changes,
)
from domain.users import (
    User,
    check_email,
    check_name,
    check_password,
)
from entrypoints.http.field_types import (
    Category,
    Description,
    Email,
    Name,
    Password,
    StoredTags,
    Tags,
    Title,
)

# Fields a client may echo back from a task it read; they are ignored, never written.
TASK_READ_ONLY_FIELDS = frozenset(
    {"id", "user_id", "created_at", "updated_at", "completed_at", "version"}
)


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name | None = None


def registration_rule_errors(fields: Mapping[str, Any]) -> list[FieldError]:
    """The account rules the body's well-typed fields break (the common-password list is the
    use case's: it is checked once the whole body is valid)."""
    email, error = check_email(fields["email"]) if "email" in fields else ("", None)
    errors = [error] if error else []
    if isinstance(name := fields.get("name"), str) and (error := check_name(name)[1]):
        errors.append(error)
    if "password" in fields and (
        error := check_password(fields["password"], email, is_common=False)
    ):
        errors.append(error)
    return errors


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


def task_rule_errors(fields: Mapping[str, Any]) -> list[FieldError]:
    """The task rules (NFC, trimming, lengths, tags after de-duplication) that the body's
    well-typed fields break."""
    values: dict[str, Any] = {
        name: tuple(value) if name == "tags" else value for name, value in fields.items()
    }
    changes = TaskChanges(**values)
    try:
        clean_changes(changes)
    except ValidationFailed as failed:
        return list(failed.errors)
    return []


class TaskUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Fields present are written; absent ones are kept. ``null`` clears a nullable field."""

    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    due_date: date | UnsetType | None = UNSET
    priority: Priority | UnsetType = UNSET
    starred: bool | UnsetType = UNSET
    completed: bool | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    category: Category | UnsetType | None = UNSET

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
    title: Title
    description: Description | None
    due_date: date | None
    priority: Priority
    starred: bool
    completed: bool
    completed_at: datetime | None
    tags: StoredTags
    category: Category | None
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
