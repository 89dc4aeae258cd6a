"""A listing request's filters and sort as the domain reads them: every value normalised like
stored text and checked, every problem reported at once."""

from __future__ import annotations

from datetime import date

from domain.errors import FieldError, ValidationFailed
from domain.task_listing import SortField, Status, TaskFilter, TaskQuery, TaskSort
from domain.tasks import CATEGORY_MAX_LENGTH, TAG_MAX_LENGTH, Priority
from domain.text import check_text, fold_case

SORT_DOC = (
    "created_at, updated_at, due_date, priority or title; prefix '-' for descending. "
    "Priority sorts by meaning, title case-insensitively, tasks without a due date last."
)
SORT_FIELDS = ", ".join(f.value for f in SortField)
ORDERS = {"asc": False, "desc": True}


def _text_filter(
    name: str, value: str, errors: list[FieldError], *, min_length: int = 0, max_length: int = 255
) -> str:
    cleaned, error = check_text(name, value, min_length=min_length, max_length=max_length)
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
    category: list[str] | None,
    due_before: date | None,
    due_after: date | None,
    q: str | None,
    search: str | None,
    sort: str | None,
    sort_by: str | None,
    order: str | None,
) -> TaskQuery:
    """The query a list request asks for. ``search`` is ``q`` and ``sort_by``/``order`` are
    ``sort``, as Phase-II clients spell them; both spellings at once must agree."""
    errors: list[FieldError] = []
    done = {Status.PENDING: False, Status.COMPLETED: True}.get(status or Status.ALL)
    if completed is not None and done is not None and completed != done:
        errors.append(FieldError("completed", "contradicts status"))
    done = completed if completed is not None else done
    # A tag or category filter is one the field could hold: 1-50 characters.
    tags = tuple(
        dict.fromkeys(
            _text_filter("tag", t, errors, min_length=1, max_length=TAG_MAX_LENGTH).lower()
            for t in tag or ()
        )
    )
    categories = tuple(
        dict.fromkeys(
            fold_case(
                _text_filter("category", c, errors, min_length=1, max_length=CATEGORY_MAX_LENGTH)
            )
            for c in category or ()
        )
    )
    text = _search_text(q, search, errors)
    task_sort = _sort(sort, sort_by, order, errors)
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
            categories=tuple(c for c in categories if c),
        ),
        sort=task_sort,
    )


def _search_text(q: str | None, search: str | None, errors: list[FieldError]) -> str | None:
    text = _text_filter("q", q, errors) if q is not None else None
    alias = _text_filter("search", search, errors) if search is not None else None
    if text is not None and alias is not None and fold_case(text) != fold_case(alias):
        errors.append(FieldError("search", "disagrees with q"))
    return text if text is not None else alias


def _sort(
    sort: str | None, sort_by: str | None, order: str | None, errors: list[FieldError]
) -> TaskSort:
    parsed = None
    if sort is not None:
        try:
            parsed = TaskSort.parse(sort)
        except ValueError:
            errors.append(FieldError("sort", "must be one of " + SORT_DOC))
    if order is not None and order not in ORDERS:
        errors.append(FieldError("order", "must be asc or desc"))
    if sort_by is None:
        if order is not None:
            errors.append(FieldError("order", "needs sort_by"))
        return parsed or TaskSort()
    try:
        alias = TaskSort(SortField(sort_by), ORDERS.get(order or "asc", False))
    except ValueError:
        errors.append(FieldError("sort_by", "must be one of " + SORT_FIELDS))
        return parsed or TaskSort()
    if parsed is not None and parsed != alias:
        errors.append(FieldError("sort_by", "disagrees with sort"))
    return alias
