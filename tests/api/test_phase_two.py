"""What Phase-II clients send: `category`, empty text as "none", the list aliases (`search`,
`sort_by`/`order`), the user-scoped path, and unknown query parameters made visible (API.md,
"Tasks" and "Conventions"). Every test runs on PostgreSQL and on the in-memory storage."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_tasks import Api, Json, assert_problem, next_url, sign_up


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Api:
    return await sign_up(client)


async def test_category_is_stored_as_sent_and_cleared_by_null_or_empty(alice: Api) -> None:
    task = await alice.create(category="  Work ")
    assert task["category"] == "Work"
    assert (await alice.read(task["id"]))["category"] == "Work"
    cleared = await alice.patch(task["id"], {"category": ""})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["category"] is None
    again = await alice.patch(task["id"], {"category": "home"})
    assert again.json()["category"] == "home"
    nulled = await alice.patch(task["id"], {"category": None})
    assert nulled.json()["category"] is None


async def test_category_rules(alice: Api) -> None:
    assert_problem(await alice.post({"title": "t", "category": "x" * 51}), 422, "category")
    assert_problem(await alice.post({"title": "t", "category": "a\x07b"}), 422, "category")
    assert_problem(await alice.post({"title": "t", "category": 3}), 422, "category")
    assert (await alice.create(category="x" * 50))["category"] == "x" * 50
    assert await alice.ids() != []  # the refused ones stored nothing
    assert len(await alice.ids()) == 1


async def test_empty_description_is_stored_as_null(alice: Api) -> None:
    task = await alice.create(description="   ")
    assert task["description"] is None
    updated = await alice.put(task["id"], {"description": "\n\t "})
    assert updated.json()["description"] is None


async def test_category_filter_is_any_of_and_case_insensitive(alice: Api) -> None:
    work = await alice.create(title="w", category="Work")
    home = await alice.create(title="h", category="home")
    await alice.create(title="none")
    assert set(await alice.ids({"category": "WORK"})) == {work["id"]}
    both = await alice.ids([("category", "work"), ("category", "HOME")])
    assert set(both) == {work["id"], home["id"]}
    assert await alice.ids({"category": "errands"}) == []
    listing = await alice.listing({"category": "work"})
    assert listing.headers["x-total-count"] == "1"


async def test_search_is_q(alice: Api) -> None:
    milk = await alice.create(title="Buy MILK")
    await alice.create(title="Walk the dog")
    assert await alice.ids({"search": "milk"}) == [milk["id"]]
    assert await alice.ids({"search": "milk", "q": "MILK"}) == [milk["id"]]
    assert_problem(await alice.listing({"search": "milk", "q": "dog"}), 422, "search")


async def test_sort_by_and_order_are_sort(alice: Api) -> None:
    for title in ("b", "C", "a"):
        await alice.create(title=title)
    titles = [t["title"] for t in await alice.tasks({"sort_by": "title"})]
    assert titles == ["a", "b", "C"]
    titles = [t["title"] for t in await alice.tasks({"sort_by": "title", "order": "desc"})]
    assert titles == ["C", "b", "a"]
    same = await alice.tasks({"sort_by": "title", "order": "desc", "sort": "-title"})
    assert [t["title"] for t in same] == ["C", "b", "a"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"order": "desc"}, "order"),
        ({"sort_by": "title", "order": "down"}, "order"),
        ({"sort_by": "colour"}, "sort_by"),
        ({"sort_by": "-title"}, "sort_by"),
        ({"sort_by": "title", "sort": "-title"}, "sort_by"),
    ],
)
async def test_bad_sort_aliases_are_422(alice: Api, params: dict[str, str], field: str) -> None:
    assert_problem(await alice.listing(params), 422, field)


async def test_pages_keep_the_aliases(alice: Api) -> None:
    for index in range(5):
        await alice.create(title=f"t{index}", category="Work")
    params = {"sort_by": "title", "order": "asc", "category": "work", "limit": "2"}
    seen: list[str] = []
    response = await alice.listing(params)
    while True:
        assert response.status_code == 200, response.text
        seen += [t["title"] for t in response.json()]
        url = next_url(response)
        if url is None:
            break
        response = await alice.client.get(url, headers=alice.auth)
    assert seen == [f"t{index}" for index in range(5)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/tasks"),
        ("GET", "/api/v1/tasks"),
        ("POST", "/api/tasks"),
        ("DELETE", "/api/tasks"),
        ("GET", "/api/auth/me"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/refresh"),
    ],
)
async def test_an_unknown_query_parameter_is_422_naming_it(
    alice: Api, method: str, path: str
) -> None:
    response = await alice.client.request(
        method, path, params={"colour": "red"}, headers=alice.auth, json={}
    )
    body = assert_problem(response, 422, "colour")
    assert "colour" in body["detail"]


async def test_known_parameters_of_another_route_are_unknown_here(alice: Api) -> None:
    task = await alice.create()
    response = await alice.call("GET", f"/{task['id']}", params={"sort": "title"})
    assert_problem(response, 422, "sort")
    cleared = await alice.call("DELETE", params={"status": "completed", "limit": "3"})
    assert_problem(cleared, 422, "limit")


async def test_a_phase_two_client_flow(alice: Api) -> None:
    """Create with `category`, edit with PUT carrying `completed` and `category`, toggle with an
    empty PATCH, search, sort — all through `/api/{user_id}/tasks`."""
    api = alice.at(f"/api/{alice.user_id}/tasks")
    created = await api.post({"title": "Finish report", "priority": "high", "category": "work"})
    assert created.status_code == 201, created.text
    task: Json = created.json()
    assert created.headers["location"] == f"/api/{alice.user_id}/tasks/{task['id']}"
    await api.create(title="Buy bread", category="personal", priority="low")

    edited = await api.put(
        task["id"], {"title": "Finish the report", "completed": True, "category": "Work"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["completed"] is True
    assert edited.json()["category"] == "Work"

    toggled = await api.call("PATCH", f"/{task['id']}/complete")
    assert toggled.status_code == 200, toggled.text
    assert toggled.json()["completed"] is False
    assert toggled.json()["completed_at"] is None

    assert [t["title"] for t in await api.tasks({"search": "REPORT"})] == ["Finish the report"]
    by_priority = await api.tasks({"sort_by": "priority", "order": "desc"})
    assert [t["priority"] for t in by_priority] == ["high", "low"]
    assert [t["title"] for t in await api.tasks({"category": "personal"})] == ["Buy bread"]


async def test_unknown_and_bad_query_parameters_are_named_in_one_answer(alice: Api) -> None:
    response = await alice.listing([("bogus1", "1"), ("bogus2", "2"), ("limit", "0")])
    body = assert_problem(response, 422, "bogus1", "bogus2", "limit")
    assert len(body["errors"]) == 3
    sorted_badly = await alice.listing({"colour": "red", "sort": "colour", "starred": "maybe"})
    assert_problem(sorted_badly, 422, "colour", "sort", "starred")


@pytest.mark.parametrize("name", ["tag", "category"])
@pytest.mark.parametrize("value", ["", "   ", "x" * 51])
async def test_a_label_filter_the_field_could_not_hold_is_422(
    alice: Api, name: str, value: str
) -> None:
    assert_problem(await alice.listing({name: value}), 422, name)


@pytest.mark.parametrize("value", ["1", "0", "TRUE", "False", "yes"])
async def test_boolean_filters_are_true_or_false_only(alice: Api, value: str) -> None:
    for name in ("starred", "completed"):
        assert_problem(await alice.listing({name: value}), 422, name)
