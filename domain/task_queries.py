"""A listing request's filters and sort as the domain reads them: every value normalised like
stored text and checked, every problem reported at once."""

from __future__ import annotations

from datetime import date

from domain.errors import FieldError, ValidationFailed
from domain.tasks import Priority, Status, TaskFilter, TaskQuery, TaskSort
from domain.text import check_text

SORT_DOC = (
    "created_at, updated_at, due_date, priority or title; prefix '-' for descending. "
    "Priority sorts by meaning, title case-insensitively, tasks without a due date last."
)


def _text_filter(name: str, value: str, errors: list[FieldError]) -> str:
    cleaned, error = check_text(name, value, min_length=0, max_length=255)
    if error:
        errors.append(error)
    return cleaned


def build_query(
    *,
    status: Status | None,
    completed: bool | None,
    priority: list[Priority] | None,
    starred: bool | None,
    tag: list[str] | None,
    due_before: date | None,
    due_after: date | None,
    q: str | None,
    sort: str,
) -> TaskQuery:
    errors: list[FieldError] = []
    done = {Status.PENDING: False, Status.COMPLETED: True}.get(status or Status.ALL)
    if completed is not None and done is not None and completed != done:
        errors.append(FieldError("completed", "contradicts status"))
    done = completed if completed is not None else done
    tags = tuple(dict.fromkeys(_text_filter("tag", t, errors).lower() for t in tag or ()))
    text = _text_filter("q", q, errors) if q is not None else None
    try:
        task_sort = TaskSort.parse(sort)
    except ValueError:
        errors.append(FieldError("sort", "must be one of " + SORT_DOC))
        task_sort = TaskSort()
    if errors:
        raise ValidationFailed(errors)
    return TaskQuery(
        filter=TaskFilter(
            completed=done,
            priorities=tuple(dict.fromkeys(priority or ())),
            starred=starred,
            tags=tuple(t for t in tags if t),
            due_before=due_before,
            due_after=due_after,
            text=text or None,
        ),
        sort=task_sort,
    )
