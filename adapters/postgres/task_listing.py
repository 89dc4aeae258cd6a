"""Listing tasks on PostgreSQL: filters, sort keys and keyset positions as SQL, compiled once
per shape of query."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from adapters.postgres.caller import CALLER_USER, live_session
from adapters.postgres.compiled import Compiled, compile_sql, param
from adapters.postgres.tables import tasks
from domain.task_listing import SortField, TaskFilter, TaskSort

_FILTERS = (
    "completed",
    "priorities",
    "starred",
    "tags",
    "due_before",
    "due_after",
    "text",
    "categories",
)


def filter_shape(task_filter: TaskFilter) -> tuple[str, ...]:
    """Which filters a query uses: the statement is compiled once per shape."""
    return tuple(name for name in _FILTERS if getattr(task_filter, name) not in (None, (), ""))


def filter_values(task_filter: TaskFilter) -> dict[str, Any]:
    values: dict[str, Any] = {
        "completed": task_filter.completed,
        "starred": task_filter.starred,
        "due_before": task_filter.due_before,
        "due_after": task_filter.due_after,
        "priorities": [p.rank for p in task_filter.priorities],
        "tags": list(task_filter.tags),
        "categories": list(task_filter.categories),
    }
    if task_filter.text:
        escaped = task_filter.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        values["text"] = f"%{escaped}%"
    return values


def _filter_conditions(shape: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    conditions: dict[str, sa.ColumnElement[bool]] = {
        "completed": tasks.c.completed == param("completed", tasks.c.completed),
        "priorities": tasks.c.priority
        == sa.any_(param("priorities", pg.ARRAY(tasks.c.priority.type))),
        "starred": tasks.c.starred == param("starred", tasks.c.starred),
        "tags": tasks.c.tags.contains(param("tags", tasks.c.tags)),
        "due_before": tasks.c.due_date <= param("due_before", tasks.c.due_date),
        "due_after": tasks.c.due_date >= param("due_after", tasks.c.due_date),
        "text": sa.or_(
            tasks.c.title.ilike(param("text", tasks.c.title), escape="\\"),
            tasks.c.description.ilike(param("text", tasks.c.title), escape="\\"),
        ),
        # Already case-folded; lower() here is what the index `tasks_by_user_category` holds.
        "categories": sa.func.lower(tasks.c.category)
        == sa.any_(param("categories", pg.ARRAY(tasks.c.category.type))),
    }
    return [tasks.c.user_id == CALLER_USER, *(conditions[name] for name in shape)]


def _sort_key_of(title: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Titles by code point of their lower-cased form, the same in every storage adapter."""
    return sa.func.lower(title).collate("C")


def _sort_key(field: SortField) -> sa.ColumnElement[Any]:
    if field is SortField.TITLE:
        return _sort_key_of(tasks.c.title)
    column: sa.ColumnElement[Any] = tasks.c[field.value]
    return column


def _nullable(field: SortField) -> bool:
    return field is not SortField.TITLE and bool(tasks.c[field.value].nullable)


def _order(sort: TaskSort) -> tuple[sa.UnaryExpression[Any], ...]:
    """By (value, id), NULL values last either way. ``NULLS LAST`` is said only where there can
    be NULLs: on a NOT NULL column, descending, it kept the index from giving the order, and
    every page sorted all of the caller's tasks."""
    key = _sort_key(sort.field)
    if sort.descending:
        return (key.desc().nulls_last() if _nullable(sort.field) else key.desc()), tasks.c.id.desc()
    return key.asc(), tasks.c.id.asc()


def _after(sort: TaskSort, value_is_null: bool) -> sa.ColumnElement[bool]:
    """Rows strictly past the cursor in (value, id) order, with NULL values last either way."""
    key = _sort_key(sort.field)
    after_id = param("after_id", tasks.c.id)
    id_past = tasks.c.id < after_id if sort.descending else tasks.c.id > after_id
    if value_is_null:
        return sa.and_(key.is_(None), id_past)
    if sort.field is SortField.TITLE:  # the cursor holds the title: fold it as the key is
        value: sa.ColumnElement[Any] = _sort_key_of(param("after_value", tasks.c.title))
    else:
        value = param("after_value", key.type)
    if not _nullable(sort.field):  # a row comparison: the index seeks straight to the cursor
        row, cursor = sa.tuple_(key, tasks.c.id), sa.tuple_(value, after_id)
        return row < cursor if sort.descending else row > cursor
    value_past = key < value if sort.descending else key > value
    return sa.or_(value_past, sa.and_(key == value, id_past), key.is_(None))


@cache
def page(shape: tuple[str, ...], sort: TaskSort, after_null: bool | None) -> Compiled:
    """A page and, on each row, the count of all matching tasks (an uncorrelated subquery,
    evaluated once): one statement, with the owner and the live session in its WHERE."""
    matching = _filter_conditions(shape)
    count = sa.select(sa.func.count()).select_from(tasks).where(*matching)
    in_page = [*matching, live_session()]
    if after_null is not None:
        in_page.append(_after(sort, after_null))
    return compile_sql(
        sa.select(tasks, count.scalar_subquery().label("total"))
        .where(*in_page)
        .order_by(*_order(sort))
        .limit(param("limit", sa.Integer()))
    )


@cache
def empty_page(shape: tuple[str, ...]) -> Compiled:
    count = sa.select(sa.func.count()).select_from(tasks).where(*_filter_conditions(shape))
    return compile_sql(
        sa.select(live_session().label("live"), count.scalar_subquery().label("total"))
    )
