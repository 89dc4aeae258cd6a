"""A page of tasks is read in index order: no sort of all the caller's tasks, whatever their
number, for every sort on a NOT NULL value, either way, first page or after a cursor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.task_listing import filter_shape, page
from domain.task_listing import SortField, TaskFilter, TaskSort

AFTER_VALUES: dict[SortField, Any] = {
    SortField.CREATED_AT: datetime(2026, 1, 1, tzinfo=UTC),
    SortField.UPDATED_AT: datetime(2026, 1, 1, tzinfo=UTC),
    SortField.PRIORITY: 2,
    SortField.TITLE: "m",
}


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.parametrize("field", list(AFTER_VALUES), ids=lambda f: f.value)
async def test_every_page_is_read_in_index_order(engine: AsyncEngine, field: SortField) -> None:
    values = {
        "caller_user": uuid.uuid4(),
        "caller_session": uuid.uuid4(),
        "now": datetime.now(UTC),
        "caller_issued": None,
        "limit": 51,
        "after_value": AFTER_VALUES[field],
        "after_id": uuid.uuid4(),
    }
    async with engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        await driver.execute("SET enable_sort = off")  # a sort that remains is unavoidable
        for descending in (False, True):
            for after_null in (None, False):
                statement = page(
                    filter_shape(TaskFilter()), TaskSort(field, descending), after_null
                )
                args = statement.args(**values)
                explained = await driver.fetchval(f"EXPLAIN (FORMAT JSON) {statement.sql}", *args)
                plan = json.loads(explained) if isinstance(explained, str) else explained
                nodes = _nodes(plan[0]["Plan"])
                assert "Sort" not in nodes, (field, descending, after_null, nodes)
        await driver.execute("RESET enable_sort")


def test_the_after_values_cover_every_not_null_sort() -> None:
    assert set(AFTER_VALUES) == set(SortField) - {SortField.DUE_DATE}  # due dates may be NULL
