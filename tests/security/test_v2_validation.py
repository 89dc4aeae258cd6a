"""ASVS 5.0 V2 (validation and business logic), with the V1 and V15 checks on the same input.

"Limits and hostile input" of API.md, over HTTP, on PostgreSQL and in memory: bodies that are
not UTF-8, ``If-Match`` values that are not strong ASCII tags, oversized tag lists, repeated
query parameters, and ``Location``/``Link`` built from the route. Every refused request is a
problem document, changes nothing, and logs nothing at ERROR level."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from domain.tasks import MAX_TAGS_SENT, clean_tags
from entrypoints.http.task_requests import expected_versions
from tests.support.app import register
from tests.support.caller import Caller as BaseCaller

PROBLEM = "application/problem+json"
Json = dict[str, Any]
# httpx's item type for query parameters (a list is invariant, so it must match exactly)
Params = list[tuple[str, str | int | float | bool | None]]


class Caller(BaseCaller):
    async def read(self, task_id: str) -> Json:
        response = await self.client.get(f"/api/tasks/{task_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        task: Json = response.json()
        return task

    async def all_tasks(self) -> list[Json]:
        response = await self.client.get("/api/tasks?limit=200", headers=self.auth)
        assert response.status_code == 200, response.text
        tasks: list[Json] = response.json()
        return tasks

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: list[tuple[str, str | bytes]] | None = None,
    ) -> httpx.Response:
        # Raw bytes side by side with str: str is encoded as ASCII, exactly as httpx would.
        raw = [
            (name.encode("ascii"), value if isinstance(value, bytes) else value.encode("ascii"))
            for name, value in [*self.auth.items(), *(headers or [])]
        ]
        all_headers = httpx.Headers(raw)
        if content is not None:
            all_headers["content-type"] = "application/json"
        return await self.client.request(
            method, url, content=content, json=json, headers=all_headers
        )


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Caller:
    return Caller(client, await register(client))


def assert_problem(
    response: httpx.Response, status: int, *fields: str, note: object = None
) -> Json:
    assert response.status_code == status, f"{note!r}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM), note
    body: Json = response.json()
    assert body["status"] == status
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    named = {error["field"] for error in body.get("errors") or []}
    for name in fields:
        assert name in named, (note, body)
    return body


def assert_nothing_logged_as_error(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# --------------------------------------------------------------------------------------------
# A JSON body that is not valid UTF-8 → 400
# --------------------------------------------------------------------------------------------

NOT_UTF8 = [
    b"\xff",  # never in UTF-8
    b"\x80",  # a continuation byte on its own
    b"\xc3",  # a sequence cut short
    b"\xe2\x82",
    b"\xc0\xaf",  # an overlong "/"
    b"\xe0\x80\xaf",
    b"\xed\xa0\x80",  # a surrogate, encoded
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xfe\xff",
    b"caf\xe9",  # Latin-1, not UTF-8
]


def _bodies_with(bad: bytes) -> list[bytes]:
    """The bad bytes in a value, in a key, in an ignored field and in a nested list."""
    return [
        b'{"title": "a' + bad + b'"}',
        b'{"title": "ok", "t' + bad + b'": 1}',
        b'{"title": "ok", "id": "' + bad + b'"}',
        b'{"title": "ok", "tags": ["fine", "' + bad + b'"]}',
        b'{"title": "\\u00e9' + bad + b'"}',
    ]


@pytest.mark.parametrize("bad", NOT_UTF8, ids=lambda b: b.hex())
async def test_v2_2_1_body_that_is_not_utf8_is_400_and_changes_nothing(
    alice: Caller, bad: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    task = await alice.create(title="Kept")
    url = f"/api/tasks/{task['id']}"
    for body in _bodies_with(bad):
        for method, target in (("POST", "/api/tasks"), ("PATCH", url), ("PUT", url)):
            response = await alice.send(method, target, content=body)
            assert_problem(response, 400, note=(method, body))
        response = await alice.send("PATCH", f"{url}/complete", content=body)
        assert_problem(response, 400, note=("complete", body))
    register_body = b'{"email": "x@example.com", "password": "pass' + bad + b'word-long"}'
    response = await alice.client.post(
        "/api/auth/register", content=register_body, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, note="register")
    assert await alice.all_tasks() == [task]
    assert_nothing_logged_as_error(caplog)


async def test_v2_2_1_lone_surrogate_escapes_are_still_refused(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    for body in (
        b'{"title": "a\\ud800"}',
        b'{"title": "a\\udc00b"}',
        b'{"title": "ok", "\\ud800": 1}',
        b'{"title": "ok", "tags": ["\\udfff"]}',
    ):
        response = await alice.send("POST", "/api/tasks", content=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    assert await alice.all_tasks() == []
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# If-Match: only strong ASCII tags or * name versions
# --------------------------------------------------------------------------------------------

# Each would name version 1 to a lax parser (str.isdigit, int(), str.strip) or crash it.
NOT_STRONG_ASCII_TAGS: list[bytes] = [
    '"\u00b9"'.encode("latin-1"),  # superscript one: isdigit() is true, int() raises
    '"\u00b2"'.encode("latin-1"),
    '"\u00b9"'.encode(),  # the same, as UTF-8 bytes
    '"\u0661"'.encode(),  # Arabic-Indic one: int() takes it
    '"\uff11"'.encode(),  # fullwidth one
    b'"' + b"1" * 5000 + b'"',  # int() refuses more than 4300 digits
    b'"' + b"0" * 4999 + b'1"',
    b'"01"',  # not how the server spells version 1
    b'"+1"',
    b'"1 "',
    b'" 1"',
    b'"1_0"',
    b'W/"1"',
    b"1",
    b'"1',
    b'1"',
    b'\xa0"1"',  # NBSP is not HTTP whitespace
    b'"1"\x85',
    b'*, "9"',  # "*" only as the whole field
    b'"9", *',
    b"**",
    b'"2147483648"',
    b'"' + b"9" * 11 + b'"',
    b'"\xff"',
]


async def test_v2_2_1_if_match_other_than_strong_ascii_tags_matches_no_version(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    task = await alice.create(title="Guarded")
    assert task["version"] == 1
    url = f"/api/tasks/{task['id']}"
    for tag in NOT_STRONG_ASCII_TAGS:
        headers: list[tuple[str, str | bytes]] = [("If-Match", tag)]
        for response in (
            await alice.send("PATCH", url, json={"title": "Lost"}, headers=headers),
            await alice.send("PUT", url, json={"starred": True}, headers=headers),
            await alice.send("PATCH", f"{url}/complete", headers=headers),
            await alice.send("DELETE", url, headers=headers),
        ):
            assert_problem(response, 412, note=tag)
        assert await alice.read(task["id"]) == task, tag
    assert_nothing_logged_as_error(caplog)


def test_v2_2_1_if_match_parsing_is_bounded_and_ascii_only() -> None:
    assert expected_versions(None) is None
    assert expected_versions("*") is None
    assert expected_versions(" \t* ") is None
    assert expected_versions('"1", "\u00b2"') == frozenset({1})
    assert expected_versions('"1",,"2" , W/"3", "4"') == frozenset({1, 2, 4})
    assert expected_versions('"2147483647"') == frozenset({2**31 - 1})
    assert expected_versions('"' + "1" * 100_000 + '"') == frozenset()
    assert expected_versions(", ".join(['"\u0661"'] * 1000)) == frozenset()
    started = time.perf_counter()
    assert expected_versions(", ".join(['"' + "7" * 4000 + '"'] * 200)) == frozenset()
    assert time.perf_counter() - started < 1


async def test_v2_2_1_if_match_list_applies_only_when_it_names_the_current_version(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    task = await alice.create(title="v1")
    url = f"/api/tasks/{task['id']}"
    mixed: list[tuple[str, str | bytes]] = [("If-Match", '"1", "\u00b2"'.encode("latin-1"))]
    applied = await alice.send("PATCH", url, json={"title": "v2"}, headers=mixed)
    assert applied.status_code == 200, applied.text
    assert applied.json()["version"] == 2
    current = await alice.read(task["id"])
    # The same list again: version 1 is no longer current, and "²" never names 2.
    assert_problem(await alice.send("PATCH", url, json={"title": "v3"}, headers=mixed), 412)
    assert await alice.read(task["id"]) == current
    # Several If-Match lines are one list, as HTTP defines it (not just the first line).
    lines: list[tuple[str, str | bytes]] = [("If-Match", '"9"'), ("If-Match", '"2"')]
    applied = await alice.send("PATCH", url, json={"title": "v3"}, headers=lines)
    assert applied.status_code == 200, applied.text
    current = await alice.read(task["id"])
    assert current["version"] == 3
    star_then_tag: list[tuple[str, str | bytes]] = [("If-Match", "*"), ("If-Match", '"9"')]
    assert_problem(await alice.send("PATCH", url, json={"title": "x"}, headers=star_then_tag), 412)
    assert await alice.read(task["id"]) == current
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# tags: at most 100 entries as sent, then at most 20 distinct
# --------------------------------------------------------------------------------------------


async def test_v2_2_1_tags_beyond_100_as_sent_are_refused_before_any_work(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    task = await alice.create(title="Tagged", tags=["keep"])
    url = f"/api/tasks/{task['id']}"
    same = ["a"] * (MAX_TAGS_SENT + 1)  # one distinct tag: only the count as sent refuses it
    broken = ["", "\x00", "x" * 51, *["b"] * MAX_TAGS_SENT]  # per-tag faults are never reached
    mistyped: list[Any] = [1, None, ["nested"], {"a": 1}] * 26  # nor are type faults
    for tags in (same, broken, mistyped):
        for method, target in (("POST", "/api/tasks"), ("PATCH", url), ("PUT", url)):
            body: Json = {"title": "t", "tags": tags}
            problem = assert_problem(await alice.send(method, target, json=body), 422, "tags")
            fields = [error["field"] for error in problem["errors"]]
            assert fields == ["tags"], problem
            assert "100" in problem["errors"][0]["message"]
    # Other faults of the same body are still reported with it.
    body = {"title": 5, "tags": ["a"] * (MAX_TAGS_SENT + 1), "nope": 1}
    problem = assert_problem(await alice.send("POST", "/api/tasks", json=body), 422)
    assert {error["field"] for error in problem["errors"]} == {"title", "tags", "nope"}
    assert await alice.all_tasks() == [task]
    assert_nothing_logged_as_error(caplog)


async def test_v2_2_1_a_huge_tag_list_is_refused_in_time_linear_in_its_size(
    alice: Caller,
) -> None:
    distinct = [f"t{i}" for i in range(60_000)]  # about 0.5 MiB
    started = time.perf_counter()
    response = await alice.send("POST", "/api/tasks", json={"title": "t", "tags": distinct})
    assert_problem(response, 422, "tags")
    assert time.perf_counter() - started < 5  # quadratic de-duplication took far longer
    assert await alice.all_tasks() == []


def test_v2_2_1_tag_de_duplication_is_linear() -> None:
    assert clean_tags(tuple(["Same"] * MAX_TAGS_SENT)) == (("same",), [])
    tags, errors = clean_tags(tuple(f"t{i}" for i in range(MAX_TAGS_SENT + 1)))
    assert tags == ()
    assert [e.field for e in errors] == ["tags"]
    tags, errors = clean_tags(tuple(f"t{i % 20}" for i in range(MAX_TAGS_SENT)))
    assert tags == tuple(f"t{i}" for i in range(20))
    assert errors == []


async def test_v2_2_1_a_hundred_tags_as_sent_reach_the_twenty_distinct_rule(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    twenty = [f"Tag{i % 20}" if i % 2 else f"tag{i % 20}" for i in range(MAX_TAGS_SENT)]
    created = await alice.create(title="Exactly 100", tags=twenty)
    assert created["tags"] == [f"tag{i}" for i in range(20)]
    twenty_one = [f"t{i % 21}" for i in range(MAX_TAGS_SENT)]
    problem = assert_problem(
        await alice.send("POST", "/api/tasks", json={"title": "t", "tags": twenty_one}),
        422,
        "tags",
    )
    assert "20" in problem["errors"][0]["message"]
    with_a_fault = ["ok"] * (MAX_TAGS_SENT - 1) + [""]
    problem = assert_problem(
        await alice.send("POST", "/api/tasks", json={"title": "t", "tags": with_a_fault}),
        422,
        f"tags.{MAX_TAGS_SENT - 1}",
    )
    assert await alice.all_tasks() == [created]
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# Query parameters: repeatable at most 50 times, the others once
# --------------------------------------------------------------------------------------------

TWICE: list[tuple[str, str, str]] = [
    ("sort", "title", "-title"),
    ("sort", "title", "title"),
    ("limit", "1", "2"),
    ("q", "a", "b"),
    ("status", "pending", "pending"),
    ("starred", "true", "false"),
    ("due_before", "2026-01-01", "2026-02-01"),
    ("due_after", "2026-01-01", "2026-01-01"),
    ("cursor", "abc", "def"),
    ("completed", "true", "true"),
]


async def test_v15_3_7_non_repeatable_query_parameter_given_twice_is_422(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    await alice.create(title="Listed")
    for base in ("/api/tasks", f"/api/{alice.user_id}/tasks", "/api/v1/tasks"):
        for name, first, second in TWICE:
            response = await alice.client.get(
                base, params=[(name, first), (name, second)], headers=alice.auth
            )
            assert_problem(response, 422, name, note=(base, name))
    response = await alice.client.get(
        "/api/tasks",
        params=[("sort", "title"), ("limit", "1"), ("sort", "title"), ("limit", "1")],
        headers=alice.auth,
    )
    assert_problem(response, 422, "sort", "limit")
    assert_nothing_logged_as_error(caplog)


async def test_v15_3_7_clearing_completed_tasks_with_status_twice_deletes_nothing(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    done = await alice.create(title="Done", completed=True)
    response = await alice.client.request(
        "DELETE",
        "/api/tasks",
        params=[("status", "completed"), ("status", "completed")],
        headers=alice.auth,
    )
    assert_problem(response, 422, "status")
    assert await alice.all_tasks() == [done]
    assert_nothing_logged_as_error(caplog)


async def test_v2_2_1_more_than_50_values_of_a_repeatable_parameter_is_422(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    await alice.create(title="Listed", priority="high", tags=["t0"])
    for name, values in (
        ("priority", ["high", "low", "medium"] * 17),
        ("tag", [f"t{i}" for i in range(51)]),
        ("tag", ["t0"] * 51),
        ("priority", ["high"] * 1000),
    ):
        repeated: Params = [(name, value) for value in values]
        response = await alice.client.get("/api/tasks", params=repeated, headers=alice.auth)
        assert_problem(response, 422, name, note=(name, len(values)))
    tags: Params = [("tag", "t0")] * 50
    priorities: Params = [("priority", "high")] * 50
    fifty = await alice.client.get("/api/tasks", params=tags + priorities, headers=alice.auth)
    assert fifty.status_code == 200, fifty.text
    assert [t["title"] for t in fifty.json()] == ["Listed"]
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# Location and Link come from the route, never from the raw request path
# --------------------------------------------------------------------------------------------


def _link_target(response: httpx.Response) -> str:
    match = re.fullmatch(r'<([^>]*)>; rel="next"', response.headers["link"])
    assert match, response.headers["link"]
    return match.group(1)


async def test_v1_2_2_location_is_built_from_the_route_not_the_request_path(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    uid = alice.user_id
    cases = {
        "//api/v1/tasks": "/api/v1/tasks",
        "///api/v1/tasks/": "/api/v1/tasks",
        "/api/v1//tasks": "/api/v1/tasks",
        "/api//tasks": "/api/tasks",
        "/api/tasks/": "/api/tasks",
        "/api/tasks": "/api/tasks",
        f"/api/{uid.upper()}/tasks": f"/api/{uid}/tasks",
        f"//api/v1/{uid}//tasks/": f"/api/v1/{uid}/tasks",
    }
    for sent, expected in cases.items():
        response = await alice.client.post(
            f"http://testserver{sent}", json={"title": sent}, headers=alice.auth
        )
        assert response.status_code == 201, (sent, response.text)
        location = response.headers["location"]
        assert location == f"{expected}/{response.json()['id']}", (sent, location)
        assert location.startswith("/")
        assert not location.startswith("//")
        followed = await alice.client.get(location, headers=alice.auth)
        assert followed.status_code == 200, (sent, location)
    assert_nothing_logged_as_error(caplog)


async def test_v1_2_2_next_link_is_built_from_the_route_and_keeps_the_query(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(3):
        await alice.create(title=f"n{i}", tags=["x"])
    uid = alice.user_id
    cases = {
        "//api/v1/tasks": "/api/v1/tasks",
        "/api/v1//tasks/": "/api/v1/tasks",
        "/api//tasks": "/api/tasks",
        "/api/tasks/": "/api/tasks",
        f"/api/{uid.upper()}/tasks": f"/api/{uid}/tasks",
        f"//api/v1//{uid}/tasks": f"/api/v1/{uid}/tasks",
    }
    for sent, expected in cases.items():
        url = f"http://testserver{sent}?limit=1&tag=x&sort=title"
        seen: list[str] = []
        while True:
            response = await alice.client.get(url, headers=alice.auth)
            assert response.status_code == 200, (sent, response.text)
            seen += [t["title"] for t in response.json()]
            if "link" not in response.headers:
                break
            target = _link_target(response)
            assert urlsplit(target).path == expected, (sent, target)
            assert target.startswith("/")
            assert not target.startswith("//")
            query = parse_qsl(urlsplit(target).query)
            assert ("limit", "1") in query, target
            assert ("tag", "x") in query, target
            assert ("sort", "title") in query, target
            url = target
        assert seen == ["n0", "n1", "n2"], sent
    assert_nothing_logged_as_error(caplog)


async def test_v1_2_2_a_path_outside_the_api_gives_no_location(
    alice: Caller,
) -> None:
    """A path the routes do not know is a 404 problem, never a Location pointing at it."""
    for sent in ("//evil.example/api/tasks", "/api/v1/../tasks", "//api/tasks/../x"):
        response = await alice.client.post(
            f"http://testserver{sent}", json={"title": "x"}, headers=alice.auth
        )
        if response.status_code == 201:
            location = response.headers["location"]
            assert location.startswith("/api/"), (sent, location)
            assert "//" not in location, (sent, location)
            uuid.UUID(location.rsplit("/", 1)[1])
        else:
            assert response.status_code == 404, (sent, response.text)
