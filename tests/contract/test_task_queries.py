"""The task list contract: filters, sort orders and keyset positions, alike on every adapter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import pytest

from application.ports import AccessClaims
from domain.task_listing import Position, SortField, TaskFilter, TaskQuery, TaskSort, sort_value
from domain.tasks import Priority, Task, TaskChanges
from tests.contract.harness import NOW, Storage, due

HIGH, MEDIUM, LOW = Priority.HIGH, Priority.MEDIUM, Priority.LOW


@dataclass(frozen=True, slots=True)
class Seeded:
    caller: AccessClaims
    tasks: dict[str, Task]


async def seed_filtering(storage: Storage) -> Seeded:
    caller = await storage.caller()
    add = storage.add_task
    tasks = {
        "alpha": await add(
            caller,
            "Buy MILK",
            due_date=due(10),
            priority=HIGH,
            starred=True,
            tags=("home", "shop"),
            category="Errands",
        ),
        "beta": await add(
            caller,
            "Report 100% done",
            description="send_it to the boss",
            due_date=due(15),
            priority=LOW,
            completed=True,
            tags=("work",),
            category="WORK",
        ),
        "gamma": await add(
            caller, "call mum", description="About the 50_50 split", starred=True, tags=("home",)
        ),
        "delta": await add(
            caller,
            "Pay rent",
            description="and the Milkman",
            due_date=due(20),
            priority=HIGH,
            tags=("home", "shop", "urgent"),
            category="errands",
        ),
        "epsilon": await add(
            caller, "Écrire à Émile", due_date=due(5), priority=LOW, completed=True
        ),
        "zeta": await add(caller, "Room 105 pushups", description="files in C:\\temp"),
    }
    # Another user's task that every filter would match: never anyone else's.
    stranger = await storage.caller()
    await add(
        stranger,
        "Buy MILK 100% send_it 50_50 Émile C:\\temp",
        due_date=due(15),
        priority=HIGH,
        starred=True,
        completed=True,
        tags=("home", "shop", "work", "urgent"),
        category="errands",
    )
    return Seeded(caller, tasks)


ALL = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")

FILTERS: list[tuple[str, TaskFilter, tuple[str, ...]]] = [
    ("none", TaskFilter(), ALL),
    ("completed", TaskFilter(completed=True), ("beta", "epsilon")),
    ("pending", TaskFilter(completed=False), ("alpha", "gamma", "delta", "zeta")),
    ("one priority", TaskFilter(priorities=(HIGH,)), ("alpha", "delta")),
    ("priorities", TaskFilter(priorities=(LOW, MEDIUM)), ("beta", "gamma", "epsilon", "zeta")),
    ("starred", TaskFilter(starred=True), ("alpha", "gamma")),
    ("not starred", TaskFilter(starred=False), ("beta", "delta", "epsilon", "zeta")),
    ("one tag", TaskFilter(tags=("home",)), ("alpha", "gamma", "delta")),
    ("tags, all of them", TaskFilter(tags=("home", "shop")), ("alpha", "delta")),
    ("tags no task has together", TaskFilter(tags=("shop", "work")), ()),
    ("due before, inclusive", TaskFilter(due_before=due(15)), ("alpha", "beta", "epsilon")),
    ("due after, inclusive", TaskFilter(due_after=due(15)), ("beta", "delta")),
    ("due between", TaskFilter(due_after=due(10), due_before=due(15)), ("alpha", "beta")),
    ("due before the first", TaskFilter(due_before=due(4)), ()),
    ("text in a title, any case", TaskFilter(text="milk"), ("alpha", "delta")),
    ("text in upper case", TaskFilter(text="MILK"), ("alpha", "delta")),
    ("text in a description", TaskFilter(text="BOSS"), ("beta",)),
    ("text beyond ASCII, any case", TaskFilter(text="émile"), ("epsilon",)),
    ("percent is literal", TaskFilter(text="%"), ("beta",)),
    ("percent inside text", TaskFilter(text="0% d"), ("beta",)),
    ("underscore is literal", TaskFilter(text="_"), ("beta", "gamma")),
    ("underscore is no wildcard", TaskFilter(text="1_5"), ()),
    ("backslash is literal", TaskFilter(text="C:\\t"), ("zeta",)),
    ("text nowhere", TaskFilter(text="nothing like it"), ()),
    ("one category, any case", TaskFilter(categories=("errands",)), ("alpha", "delta")),
    ("categories, any of", TaskFilter(categories=("errands", "work")), ("alpha", "beta", "delta")),
    ("a category nobody uses", TaskFilter(categories=("home",)), ()),
    (
        "filters combine",
        TaskFilter(completed=False, starred=True, tags=("home",), priorities=(MEDIUM,)),
        ("gamma",),
    ),
]


@pytest.mark.parametrize(
    ("task_filter", "expected"),
    [pytest.param(f, e, id=name) for name, f, e in FILTERS],
)
async def test_filters_select_the_callers_matching_tasks(
    storage: Storage, task_filter: TaskFilter, expected: tuple[str, ...]
) -> None:
    seeded = await seed_filtering(storage)
    found = await storage.tasks.page(seeded.caller, TaskQuery(task_filter), None, 100)
    assert found is not None
    tasks, total = found
    names = {task.id: name for name, task in seeded.tasks.items()}
    assert sorted(names[t.id] for t in tasks) == sorted(expected)
    assert total == len(expected)


async def test_tasks_without_a_due_date_match_no_due_date_filter(storage: Storage) -> None:
    caller = await storage.caller()
    await storage.add_task(caller, "no due date")
    for task_filter in (
        TaskFilter(due_before=date.max),
        TaskFilter(due_after=date.min),
        TaskFilter(due_after=date.min, due_before=date.max),
    ):
        assert await storage.tasks.page(caller, TaskQuery(task_filter), None, 10) == ([], 0)


async def test_text_is_matched_per_character_case_as_postgresql_ilike_does(
    storage: Storage,
) -> None:
    """ "ß" upper-cases to "SS" but is no "ss" for ILIKE; Python's ``casefold`` makes it one."""
    caller = await storage.caller()
    await storage.add_task(caller, "Straße")
    found = await storage.tasks.page(caller, TaskQuery(TaskFilter(text="STRASSE")), None, 10)
    assert found == ([], 0)


# -- sort orders -----------------------------------------------------------------------------

SORTS = [TaskSort(field, descending) for field in SortField for descending in (False, True)]
RANK = {LOW: 1, MEDIUM: 2, HIGH: 3}  # by meaning, not by name


def reference_value(task: Task, field: SortField) -> object:
    """The order the contract defines, written out here rather than taken from the domain."""
    return {
        SortField.CREATED_AT: task.created_at,
        SortField.UPDATED_AT: task.updated_at,
        SortField.DUE_DATE: task.due_date,
        SortField.PRIORITY: RANK[task.priority],
        SortField.TITLE: task.title.lower(),
    }[field]


def expected_order(tasks: list[Task], sort: TaskSort) -> list[UUID]:
    """Values in the sort's direction, ties by id in the same direction; null values last."""

    def key(task: Task) -> tuple[object, UUID]:
        return reference_value(task, sort.field), task.id

    valued = [t for t in tasks if reference_value(t, sort.field) is not None]
    nulls = [t for t in tasks if reference_value(t, sort.field) is None]
    valued.sort(key=key, reverse=sort.descending)
    nulls.sort(key=lambda t: t.id, reverse=sort.descending)
    return [t.id for t in valued + nulls]


# Ids in an order unrelated to creation, so a tie broken by insertion order would show.
SHUFFLED_IDS = [UUID(int=(n * 7919) % 1000 + 1) for n in range(1, 16)]


async def seed_sorting(storage: Storage) -> tuple[AccessClaims, list[Task]]:
    """Tasks with ties in every field, null due dates, mixed-case and non-ASCII titles, and
    some updated after they were created."""
    caller = await storage.caller()
    start = storage.clock.now()
    specs: list[tuple[str, date | None, Priority, int]] = [
        # title, due date, priority, minutes after ``start`` it is created
        ("banana", due(3), HIGH, 0),
        ("Apple", None, LOW, 0),
        ("apple", due(3), MEDIUM, 1),
        ("Cherry", due(1), HIGH, 1),
        ("Émile", None, MEDIUM, 2),
        ("zebra", due(9), LOW, 2),
        ("date", None, HIGH, 3),
        ("Banana", due(9), LOW, 3),
        ("elder", due(1), MEDIUM, 4),
        ("fig", None, LOW, 4),
        ("Grape", due(5), HIGH, 5),
        ("apple", due(5), MEDIUM, 5),
    ]
    added = [
        await storage.add_task(
            caller,
            title,
            task_id=task_id,
            due_date=due_date,
            priority=priority,
            created_at=start + timedelta(minutes=minutes),
        )
        for task_id, (title, due_date, priority, minutes) in zip(SHUFFLED_IDS, specs, strict=False)
    ]
    # Two updated at one later instant, one at another: ties among updated_at too.
    later = start + timedelta(hours=1)
    for index, when in ((1, later), (6, later), (9, later + timedelta(minutes=1))):
        updated = await storage.tasks.update(
            caller, added[index].id, TaskChanges(starred=True), expected_versions=None, now=when
        )
        assert updated is not None
        added[index] = updated
    return caller, added


@pytest.mark.parametrize("sort", SORTS, ids=str)
async def test_every_sort_order(storage: Storage, sort: TaskSort) -> None:
    caller, tasks = await seed_sorting(storage)
    found = await storage.tasks.page(caller, TaskQuery(sort=sort), None, 100)
    assert found is not None
    page, total = found
    assert [t.id for t in page] == expected_order(tasks, sort)
    assert total == len(tasks)


async def test_sort_orders_by_example(storage: Storage) -> None:
    """The reference order above, pinned by hand in the cases that are easiest to get wrong."""
    caller, _ = await seed_sorting(storage)

    async def titles(sort: str) -> list[str]:
        found = await storage.tasks.page(caller, TaskQuery(sort=TaskSort.parse(sort)), None, 100)
        assert found is not None
        return [t.title for t in found[0]]

    async def values(sort: str) -> list[object]:
        found = await storage.tasks.page(caller, TaskQuery(sort=TaskSort.parse(sort)), None, 100)
        assert found is not None
        return [sort_value(t, TaskSort.parse(sort).field) for t in found[0]]

    by_title = await titles("title")
    assert [t.lower() for t in by_title[:3]] == ["apple"] * 3  # "Apple" ties with "apple"
    assert [t.lower() for t in by_title[3:]] == [
        "banana",
        "banana",
        "cherry",
        "date",
        "elder",
        "fig",
        "grape",
        "zebra",
        "émile",  # code-point order once lower-cased: é comes after z
    ]
    assert await values("priority") == [1] * 4 + [2] * 4 + [3] * 4
    assert await values("-priority") == [3] * 4 + [2] * 4 + [1] * 4
    for direction in ("", "-"):
        due_dates = await values(f"{direction}due_date")
        assert due_dates[-4:] == [None] * 4  # null due dates last, both ways
        assert due_dates[:8] == sorted(due_dates[:8], reverse=direction == "-")  # type: ignore[type-var]


# -- keyset positions ------------------------------------------------------------------------


def position_after(task: Task, sort: TaskSort) -> Position:
    """Where a page that ends with ``task`` ended, as the list use case records it."""
    return Position(sort_value(task, sort.field), task.id)


async def walk(
    storage: Storage, caller: AccessClaims, query: TaskQuery, limit: int
) -> tuple[list[UUID], set[int]]:
    """Every page of ``query``, ``limit`` at a time: the ids in order, and the totals seen."""
    seen: list[UUID] = []
    totals: set[int] = set()
    after: Position | None = None
    while True:
        found = await storage.tasks.page(caller, query, after, limit)
        assert found is not None
        page, total = found
        totals.add(total)
        seen += [t.id for t in page]
        if len(page) < limit:
            return seen, totals
        after = position_after(page[-1], query.sort)
        assert len(seen) <= 100, "the walk does not end"


@pytest.mark.parametrize("sort", SORTS, ids=str)
async def test_walking_the_pages_yields_every_task_once_in_order(
    storage: Storage, sort: TaskSort
) -> None:
    caller, tasks = await seed_sorting(storage)
    expected = expected_order(tasks, sort)
    for limit in (1, 2, 5, len(tasks)):
        seen, totals = await walk(storage, caller, TaskQuery(sort=sort), limit)
        assert seen == expected, f"limit {limit}"
        assert totals == {len(tasks)}


@pytest.mark.parametrize("sort", SORTS, ids=str)
async def test_walking_a_filtered_list(storage: Storage, sort: TaskSort) -> None:
    caller, tasks = await seed_sorting(storage)
    query = TaskQuery(TaskFilter(priorities=(LOW, HIGH)), sort)
    expected = expected_order([t for t in tasks if t.priority in (LOW, HIGH)], sort)
    seen, totals = await walk(storage, caller, query, 3)
    assert seen == expected
    assert totals == {len(expected)}


async def test_a_position_past_the_last_task_gives_an_empty_page_and_the_total(
    storage: Storage,
) -> None:
    caller, tasks = await seed_sorting(storage)
    sort = TaskSort(SortField.DUE_DATE, descending=False)
    last = next(t for t in tasks if t.id == expected_order(tasks, sort)[-1])
    found = await storage.tasks.page(caller, TaskQuery(sort=sort), position_after(last, sort), 10)
    assert found == ([], len(tasks))


async def test_a_page_holds_at_most_limit_tasks_and_counts_them_all(storage: Storage) -> None:
    caller = await storage.caller()
    for n in range(5):
        await storage.add_task(caller, f"task {n}", created_at=NOW + timedelta(minutes=n))
    found = await storage.tasks.page(caller, TaskQuery(), None, 2)
    assert found is not None
    page, total = found
    assert [t.title for t in page] == ["task 4", "task 3"]  # newest first by default
    assert total == 5
    assert await storage.tasks.page(caller, TaskQuery(), None, 0) == ([], 5)


@pytest.mark.parametrize("sort", [TaskSort(SortField.TITLE, d) for d in (False, True)], ids=str)
async def test_titles_lower_cased_in_context_sort_and_page_alike(
    storage: Storage, sort: TaskSort
) -> None:
    """Python's ``str.lower`` turns a word-final capital sigma into the final form (U+03C2),
    PostgreSQL's ``lower()`` into the plain one (U+03C3). Titles fold one character at a time
    in both, so they sort alike, and a walk by title visits every task once."""
    caller = await storage.caller()
    for title in ("ΟΔΟΣ", "οδος a", "οδοσ b", "plain"):
        await storage.add_task(caller, title)
    found = await storage.tasks.page(caller, TaskQuery(sort=sort), None, 100)
    assert found is not None
    titles = [t.title for t in found[0]]
    # Each character lower-cased on its own: the capital sigma folds to U+03C3, which sorts
    # after the final sigma U+03C2 of "οδος a".
    expected = ["plain", "οδος a", "ΟΔΟΣ", "οδοσ b"]
    assert titles == (expected[::-1] if sort.descending else expected)
    seen, _ = await walk(storage, caller, TaskQuery(sort=sort), 1)
    assert seen == [t.id for t in found[0]]
