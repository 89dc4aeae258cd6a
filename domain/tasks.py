"""Tasks: the entity, its field rules and how changes apply (lists: ``domain.task_listing``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.errors import FieldError, ValidationFailed
from domain.text import check_text

TITLE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 10_000
TAG_MAX_LENGTH = 50
CATEGORY_MAX_LENGTH = 50
MAX_TAGS = 20
MAX_TAGS_SENT = 100  # entries as sent, before de-duplication: bounds the work per request
DESCRIPTION_CONTROLS = frozenset("\t\n\r")


class Priority(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Sort order by meaning: high > medium > low."""
        return _PRIORITY_RANK[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return _RANK_PRIORITY[rank]


_PRIORITY_RANK = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}
_RANK_PRIORITY = {rank: priority for priority, rank in _PRIORITY_RANK.items()}


class Keep(enum.Enum):
    """Marks a field a change leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


# Not frozen: a list page builds a hundred of these, and a frozen dataclass pays an
# object.__setattr__ call per field. Tasks are still never changed in place (see ``replace``).
@dataclass(slots=True)
class Task:
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    due_date: date | None
    priority: Priority
    starred: bool
    completed: bool
    completed_at: datetime | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    version: int
    category: str | None


@dataclass(frozen=True, slots=True)
class TaskChanges:
    """The fields a write sets; ``KEEP`` leaves a field untouched."""

    title: str | Keep = KEEP
    description: str | Keep | None = KEEP
    due_date: date | Keep | None = KEEP
    priority: Priority | Keep = KEEP
    starred: bool | Keep = KEEP
    completed: bool | Keep = KEEP
    tags: tuple[str, ...] | Keep = KEEP
    category: str | Keep | None = KEEP

    def set_fields(self) -> dict[str, Any]:
        return {
            name: value for name in self.__slots__ if (value := getattr(self, name)) is not KEEP
        }


def clean_changes(changes: TaskChanges, *, creating: bool = False) -> TaskChanges:
    """Normalise every text field and check every rule, reporting all problems at once. A
    nullable text field that is empty after trimming is stored as ``None``."""
    errors: list[FieldError] = []
    title, description, tags = changes.title, changes.description, changes.tags
    category = changes.category
    if creating and title is KEEP:
        errors.append(FieldError("title", "is required"))
    if isinstance(title, str):
        title, error = check_text("title", title, min_length=1, max_length=TITLE_MAX_LENGTH)
        errors += [error] if error else []
    if isinstance(description, str):
        description, error = check_text(
            "description",
            description,
            min_length=0,
            max_length=DESCRIPTION_MAX_LENGTH,
            allowed_controls=DESCRIPTION_CONTROLS,
        )
        errors += [error] if error else []
        description = description or None
    if isinstance(category, str):
        category, error = check_text(
            "category", category, min_length=0, max_length=CATEGORY_MAX_LENGTH
        )
        errors += [error] if error else []
        category = category or None
    if isinstance(tags, tuple):
        tags, tag_errors = clean_tags(tags)
        errors += tag_errors
    if errors:
        raise ValidationFailed(errors)
    return replace(changes, title=title, description=description, tags=tags, category=category)


def clean_tags(raw: tuple[str, ...]) -> tuple[tuple[str, ...], list[FieldError]]:
    """Lower-case, trim and de-duplicate tags, keeping the order they first appear in.

    A list longer than ``MAX_TAGS_SENT`` is refused before any tag is looked at."""
    if len(raw) > MAX_TAGS_SENT:
        return (), [FieldError("tags", f"must hold at most {MAX_TAGS_SENT} entries as sent")]
    errors: list[FieldError] = []
    tags: dict[str, None] = {}  # insertion-ordered set: de-duplication stays linear
    for index, value in enumerate(raw):
        tag, error = check_text(f"tags.{index}", value, min_length=1, max_length=TAG_MAX_LENGTH)
        if error:
            errors.append(error)
        else:
            tags.setdefault(tag.lower())
    if len(tags) > MAX_TAGS:
        errors.append(FieldError("tags", f"must hold at most {MAX_TAGS} distinct tags"))
    return tuple(tags), errors


def new_task(task_id: UUID, owner_id: UUID, changes: TaskChanges, now: datetime) -> Task:
    """A task with the defaults of the contract, then ``changes`` (already clean) applied."""
    blank = Task(
        id=task_id,
        user_id=owner_id,
        title="",
        description=None,
        due_date=None,
        priority=Priority.MEDIUM,
        starred=False,
        completed=False,
        completed_at=None,
        tags=(),
        created_at=now,
        updated_at=now,
        version=0,
        category=None,
    )
    return apply_changes(blank, changes, now)


def apply_changes(task: Task, changes: TaskChanges, now: datetime) -> Task:
    """The one definition of a write: set fields, keep ``completed_at`` honest, bump the version."""
    fields = changes.set_fields()
    completed = fields.get("completed", task.completed)
    if not completed:
        completed_at = None
    elif task.completed:
        completed_at = task.completed_at
    else:
        completed_at = now
    return replace(
        task, **fields, completed_at=completed_at, updated_at=now, version=task.version + 1
    )
