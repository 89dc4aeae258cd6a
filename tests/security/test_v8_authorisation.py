"""ASVS 5.0 V8 (authorisation) and V9.1 (token integrity), for the task list's cursors.

A cursor is only good for the caller, sort and filter it was issued for, and is signed: one that
was edited, forged, truncated, issued for another listing or to another user is a 422 naming
``cursor`` — never a 500, never a page of results."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from application.cursors import CursorSigner
from domain.errors import ValidationFailed
from domain.task_listing import Position, SortField, TaskFilter, TaskQuery, TaskSort
from domain.tasks import Priority
from tests.support.app import register
from tests.support.caller import Caller as BaseCaller

PROBLEM = "application/problem+json"
Json = dict[str, Any]
# httpx's item type for query parameters (a list is invariant, so it must match exactly)
Params = list[tuple[str, str | int | float | bool | None]]
BY_TITLE: Params = [("sort", "title"), ("limit", "2")]


class Caller(BaseCaller):
    async def listing(self, params: Params, base: str = "/api/tasks") -> httpx.Response:
        return await self.client.get(base, params=params, headers=self.auth)

    async def first_cursor(self, params: Params) -> str:
        response = await self.listing(params)
        assert response.status_code == 200, response.text
        return cursor_of(response)


def cursor_of(response: httpx.Response) -> str:
    match = re.fullmatch(r'<([^>]*)>; rel="next"', response.headers["link"])
    assert match, response.headers["link"]
    return dict(parse_qsl(urlsplit(match.group(1)).query))["cursor"]


def assert_cursor_refused(response: httpx.Response, note: object = None) -> None:
    assert response.status_code == 422, f"{note!r}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"cursor"}, (note, body)
    assert body["request_id"] == response.headers["x-request-id"]


def assert_nothing_logged_as_error(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Caller:
    caller = Caller(client, await register(client))
    for i in range(5):
        await caller.create(title=f"a{i}", priority="high")
    return caller


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Caller:
    caller = Caller(client, await register(client))
    for i in range(5):
        await caller.create(title=f"b{i}", priority="high")
    return caller


# --------------------------------------------------------------------------------------------
# Bound to the caller
# --------------------------------------------------------------------------------------------


async def test_v8_2_2_cursor_issued_to_another_user_is_refused(
    alice: Caller, bob: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    cursor = await alice.first_cursor(BY_TITLE)
    for base in ("/api/tasks", f"/api/{bob.user_id}/tasks", "/api/v1/tasks"):
        response = await bob.listing([*BY_TITLE, ("cursor", cursor)], base)
        assert_cursor_refused(response, base)
    # Still good for the caller it was issued to, on either form of the route.
    for base in ("/api/tasks", f"/api/{alice.user_id}/tasks", "/api/v1/tasks"):
        response = await alice.listing([*BY_TITLE, ("cursor", cursor)], base)
        assert response.status_code == 200, (base, response.text)
        assert [t["title"] for t in response.json()] == ["a2", "a3"]
    assert_nothing_logged_as_error(caplog)


async def test_v8_2_2_another_users_cursor_is_refused_even_with_the_same_position(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Two users with look-alike lists: a cursor carries nothing of its issuer's data, yet is
    refused to anyone else."""
    ann = Caller(client, await register(client))
    ben = Caller(client, await register(client))
    for caller in (ann, ben):
        for i in range(3):
            await caller.create(title=f"same {i}")
    cursor = await ann.first_cursor(BY_TITLE)
    assert_cursor_refused(await ben.listing([*BY_TITLE, ("cursor", cursor)]))
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# Tamper-evident
# --------------------------------------------------------------------------------------------


def _edits(cursor: str) -> list[str]:
    flipped = [
        cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :]
        for i in (0, len(cursor) // 3, len(cursor) // 2, len(cursor) - 1)
    ]
    return [
        *flipped,
        cursor[:-1],
        cursor[: len(cursor) // 2],
        cursor[1:],
        cursor + "A",
        cursor + "=",
        cursor + "==",
        cursor.replace(".", ""),
        cursor.replace(".", ".."),
        cursor + "." + cursor.rsplit(".", 1)[-1],
        cursor[:5] + "!" + cursor[5:],
        cursor[:5] + " " + cursor[5:],
        cursor[:5] + "\u00e9" + cursor[5:],
        cursor.upper(),
        cursor.lower(),
        ".",
        "A" * 5000,
        "A" * 60_000,
        "e30",  # {}
        b64(b"null"),
    ]


async def test_v9_1_1_edited_or_truncated_cursor_is_refused(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    cursor = await alice.first_cursor(BY_TITLE)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", cursor), cursor  # URL-safe as it is
    for edited in _edits(cursor):
        assert edited != cursor
        response = await alice.listing([*BY_TITLE, ("cursor", edited)])
        assert_cursor_refused(response, edited[:80])
    assert_nothing_logged_as_error(caplog)


async def test_v9_1_1_cursor_with_a_rewritten_position_is_refused(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    """Readable is not trusted: the position inside a cursor cannot be changed without the key."""
    cursor = await alice.first_cursor(BY_TITLE)
    payload, _, rest = cursor.partition(".")
    data = json.loads(unb64(payload))
    other_id = str(uuid.uuid4())
    rewritten: list[Json | list[Any]]
    if isinstance(data, dict):  # whatever the shape, swap every value it holds
        rewritten = [{**data, key: other_id if key == "i" else "a0"} for key in data]
    else:
        rewritten = [[*data[:-1], uuid.UUID(other_id).hex], ["a0", *data[1:]]]
    for forged in rewritten:
        encoded = b64(json.dumps(forged, separators=(",", ":")).encode())
        response = await alice.listing([*BY_TITLE, ("cursor", f"{encoded}.{rest}".rstrip("."))])
        assert_cursor_refused(response, forged)
    assert_nothing_logged_as_error(caplog)


async def test_v9_1_1_unsigned_cursor_with_a_guessable_fingerprint_is_refused(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    """A cursor built without the key — here the format an unsigned cursor once had, with the
    query fingerprint anyone can compute — is refused."""
    query = TaskQuery(TaskFilter(), TaskSort(SortField.TITLE, descending=False))
    fingerprint = hashlib.sha256(repr(query).encode()).hexdigest()[:16]
    for value in ("a0", "a2", "zzz"):
        payload = {"q": fingerprint, "v": value, "i": str(uuid.uuid4())}
        forged = b64(json.dumps(payload, separators=(",", ":")).encode())
        assert_cursor_refused(await alice.listing([*BY_TITLE, ("cursor", forged)]), value)
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# Bound to the sort and the filter
# --------------------------------------------------------------------------------------------


async def test_v9_1_1_validly_signed_cursor_from_another_sort_or_filter_is_refused(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    issued: Params = [*BY_TITLE, ("priority", "high")]
    cursor = await alice.first_cursor(issued)
    ok = await alice.listing([*issued, ("cursor", cursor)])
    assert ok.status_code == 200, ok.text
    assert [t["title"] for t in ok.json()] == ["a2", "a3"]
    for changed in (
        [("sort", "-title"), ("priority", "high")],
        [("sort", "created_at"), ("priority", "high")],
        [("sort", "title")],
        [("sort", "title"), ("priority", "high"), ("priority", "low")],
        [("sort", "title"), ("priority", "low")],
        [("sort", "title"), ("priority", "high"), ("q", "a")],
        [("sort", "title"), ("priority", "high"), ("tag", "x")],
        [("sort", "title"), ("priority", "high"), ("status", "pending")],
        [("sort", "title"), ("priority", "high"), ("starred", "false")],
        [("sort", "title"), ("priority", "high"), ("due_before", "2030-01-01")],
    ):
        response = await alice.listing([*changed, ("limit", "2"), ("cursor", cursor)])
        assert_cursor_refused(response, changed)
    # The limit is not part of the query: a client may change the page size mid-walk.
    wider = await alice.listing(
        [("sort", "title"), ("limit", "3"), ("priority", "high"), ("cursor", cursor)]
    )
    assert wider.status_code == 200, wider.text
    assert [t["title"] for t in wider.json()] == ["a2", "a3", "a4"]
    assert_nothing_logged_as_error(caplog)


async def test_v9_1_1_cursor_from_before_a_filter_change_is_refused_after_data_changes(
    alice: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    """A validly signed cursor stays bound to its filter even when the data it was cut from
    changes underneath; it still walks its own listing."""
    issued: Params = [*BY_TITLE, ("q", "a")]
    cursor = await alice.first_cursor(issued)
    await alice.create(title="a1b", priority="low")
    assert_cursor_refused(await alice.listing([*BY_TITLE, ("q", "a1"), ("cursor", cursor)]))
    page = await alice.listing([*issued, ("cursor", cursor)])
    assert page.status_code == 200, page.text
    assert [t["title"] for t in page.json()] == ["a1b", "a2"]
    assert_nothing_logged_as_error(caplog)


# --------------------------------------------------------------------------------------------
# The signer on its own
# --------------------------------------------------------------------------------------------

CALLER = uuid.UUID("01890000-0000-7000-8000-000000000001")
OTHER = uuid.UUID("01890000-0000-7000-8000-000000000002")


@pytest.mark.parametrize(
    ("query", "value"),
    [
        (TaskQuery(), datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        (TaskQuery(sort=TaskSort(SortField.DUE_DATE, False)), None),
        (TaskQuery(sort=TaskSort(SortField.PRIORITY, True)), 3),
        (TaskQuery(sort=TaskSort(SortField.TITLE, False)), "\u00e4rger \U0001f600 " * 40),
        (
            TaskQuery(
                TaskFilter(priorities=(Priority.HIGH,), tags=("a",), text='"quoted" \\'),
                TaskSort(SortField.TITLE, True),
            ),
            "x",
        ),
    ],
)
def test_v9_1_1_cursor_is_signed_and_bound_to_caller_query_and_key(
    query: TaskQuery, value: Any
) -> None:
    signer = CursorSigner.from_secret(b"s" * 32)
    position = Position(value, uuid.uuid4())
    cursor = signer.issue(CALLER, query, position)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", cursor), cursor
    assert signer.read(CALLER, query, cursor) == position
    assert CursorSigner.from_secret(b"s" * 32).read(CALLER, query, cursor) == position
    refusals: list[Callable[[], object]] = [
        lambda: signer.read(OTHER, query, cursor),
        lambda: signer.read(CALLER, TaskQuery(TaskFilter(starred=True), query.sort), cursor),
        lambda: CursorSigner.from_secret(b"t" * 32).read(CALLER, query, cursor),
        lambda: CursorSigner.ephemeral().read(CALLER, query, cursor),
        lambda: signer.read(CALLER, query, cursor[:-1]),
        lambda: signer.read(CALLER, query, cursor + "="),
    ]
    for refuse in refusals:
        with pytest.raises(ValidationFailed) as raised:
            refuse()
        assert [e.field for e in raised.value.errors] == ["cursor"]


def test_v9_1_1_cursor_key_is_derived_not_the_secret_itself() -> None:
    secret = b"k" * 32
    assert CursorSigner.from_secret(secret).key != secret
    assert CursorSigner.from_secret(secret) == CursorSigner.from_secret(secret)
    assert CursorSigner.ephemeral() != CursorSigner.ephemeral()
