"""How a list of tasks is asked for: filters, sort orders and keyset positions. The meaning
each has here is what every storage adapter implements (the in-memory one by calling it)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from domain.tasks import Priority, Task
from domain.text import fold_case


class Status(enum.Enum):
    ALL = "all"
    PENDING = "pending"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class TaskFilter:
    completed: bool | None = None
    priorities: tuple[Priority, ...] = ()
    starred: bool | None = None
    tags: tuple[str, ...] = ()
    due_before: date | None = None
    due_after: date | None = None
    text: str | None = None
    categories: tuple[str, ...] = ()  # case-folded: any of

    def matches(self, task: Task) -> bool:
        """The filter's meaning, for in-memory storage; SQL adapters express the same in WHERE."""
        due = task.due_date
        text = fold_case(self.text) if self.text else None
        return (
            (self.completed is None or task.completed == self.completed)
            and (not self.priorities or task.priority in self.priorities)
            and (self.starred is None or task.starred == self.starred)
            and all(tag in task.tags for tag in self.tags)
            and (not self.categories or fold_case(task.category or "") in self.categories)
            and (self.due_before is None or (due is not None and due <= self.due_before))
            and (self.due_after is None or (due is not None and due >= self.due_after))
            and (
                text is None
                or text in fold_case(task.title)
                or text in fold_case(task.description or "")
            )
        )


class SortField(enum.Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    DUE_DATE = "due_date"
    PRIORITY = "priority"
    TITLE = "title"


@dataclass(frozen=True, slots=True)
class TaskSort:
    field: SortField = SortField.CREATED_AT
    descending: bool = True

    @classmethod
    def parse(cls, value: str) -> TaskSort:
        descending = value.startswith("-")
        return cls(SortField(value.removeprefix("-")), descending)

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field.value


SortValue = datetime | date | int | str | None


def sort_value(task: Task, sort_field: SortField) -> SortValue:
    """The value a task is ordered by: priority by meaning, title case-insensitively."""
    match sort_field:
        case SortField.CREATED_AT:
            return task.created_at
        case SortField.UPDATED_AT:
            return task.updated_at
        case SortField.DUE_DATE:
            return task.due_date
        case SortField.PRIORITY:
            return task.priority.rank
        case SortField.TITLE:
            return fold_case(task.title)


def position_value(task: Task, sort_field: SortField) -> SortValue:
    """What a cursor records of a task: its sort value, except the title itself (not its folded
    form), so each storage compares it with its own folding and a walk never repeats a task."""
    return task.title if sort_field is SortField.TITLE else sort_value(task, sort_field)


def position_key(sort_field: SortField, value: SortValue) -> SortValue:
    """A cursor's recorded value as the sort compares it."""
    return fold_case(value) if sort_field is SortField.TITLE and isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last task's sort value and id (keyset pagination)."""

    value: SortValue
    id: UUID


@dataclass(frozen=True, slots=True)
class TaskQuery:
    filter: TaskFilter = field(default_factory=TaskFilter)
    sort: TaskSort = field(default_factory=TaskSort)
