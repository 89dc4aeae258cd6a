"""Validation answers name every problem of a request at once, in words written for people
(API.md, "Errors"): type errors and the domain's own rules in one answer, for bodies and
query strings alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.app import bearer, register

LIBRARY_WORDING = ("Expected `", "Invalid enum", "RFC3339", "Object missing", "Object contains")


def errors_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    for wording in LIBRARY_WORDING:
        assert wording not in response.text, body
    errors = {error["field"]: error["message"] for error in body["errors"]}
    for field, message in errors.items():
        assert f"{field} {message}" in body["detail"]  # the detail summarises every error
    return errors


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await register(client))


async def test_a_blank_title_a_bad_priority_and_an_impossible_date_are_named_together(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"title": "   ", "priority": "urgent", "due_date": "2026-02-30"}
    errors = errors_of(await client.post("/api/v1/tasks", json=body, headers=auth))
    assert errors == {
        "title": "must not be blank",
        "priority": "must be one of low, medium, high",
        "due_date": "must be a date YYYY-MM-DD or null",
    }
    assert (await client.get("/api/v1/tasks", headers=auth)).json() == []


async def test_type_errors_and_text_rules_of_every_field_come_in_one_answer(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {
        "title": "x" * 256,
        "description": "bell \x07",
        "starred": "yes",
        "completed": 1,
        "tags": ["ok", 3, "  ", "t" * 51],
        "category": None,
        "colour": "red",
    }
    errors = errors_of(await client.post("/api/tasks", json=body, headers=auth))
    assert errors == {
        "colour": "is not a known field",
        "title": "must be at most 255 characters",
        "description": "must not contain control characters",
        "starred": "must be true or false",
        "completed": "must be true or false",
        "tags.1": "must be a string",
    }  # the tags list is mistyped, so its text rules wait for a list of strings
    errors = errors_of(
        await client.post("/api/tasks", json={"title": 7, "tags": ["  ", "t" * 51]}, headers=auth)
    )
    assert errors == {
        "title": "must be a string",
        "tags.0": "must not be blank",
        "tags.1": "must be at most 50 characters",
    }


async def test_updates_report_every_problem_at_once_and_change_nothing(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    task = (await client.post("/api/tasks", json={"title": "Keep me"}, headers=auth)).json()
    body = {"title": "", "priority": None, "due_date": "tomorrow", "tags": "a,b"}
    for method in ("PUT", "PATCH"):
        response = await client.request(method, f"/api/tasks/{task['id']}", json=body, headers=auth)
        assert errors_of(response) == {
            "title": "must not be blank",
            "due_date": "must be a date YYYY-MM-DD or null",
            "priority": "must not be null",
            "tags": "must be a list",
        }
    assert (await client.get(f"/api/tasks/{task['id']}", headers=auth)).json() == task


async def test_registration_names_each_problem_in_plain_words(client: httpx.AsyncClient) -> None:
    body = {"email": "not an email", "password": 12345678, "name": "   "}
    assert errors_of(await client.post("/api/auth/register", json=body)) == {
        "email": "is not a valid email address",
        "password": "must be a string",
        "name": "must not be blank",
    }
    body = {"email": 5, "password": "short"}
    assert errors_of(await client.post("/api/auth/register", json=body)) == {
        "email": "must be a string",
        "password": "must be at least 8 characters",
    }


async def test_every_bad_query_parameter_is_named_at_once(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("status", "done"),
        ("priority", "low"),
        ("priority", "urgent"),
        ("starred", "maybe"),
        ("due_before", "2026-02-30"),
        ("limit", "0"),
        ("tag", "bell\x07"),
        ("sort", "colour"),
    ]
    errors = errors_of(await client.get("/api/v1/tasks", params=params, headers=auth))
    assert errors == {
        "status": "must be one of all, pending, completed",
        "priority": "must be one of low, medium, high",
        "starred": "must be true or false",
        "due_before": "must be a date YYYY-MM-DD",
        "limit": "must be a whole number from 1 to 200",
        "tag": "must not contain control characters",
        "sort": errors["sort"],
    }
    assert errors["sort"].startswith("must be one of created_at")


async def test_query_rules_alone_are_still_reported_together(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    params = {"status": "pending", "completed": "true", "order": "desc", "tag": "\x07"}
    errors = errors_of(await client.get("/api/tasks", params=params, headers=auth))
    assert set(errors) == {"completed", "order", "tag"}


async def test_null_in_a_query_string_is_a_bad_value_not_an_absent_one(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    params = {
        "status": "null",
        "starred": "null",
        "due_before": "null",
        "limit": "null",
        "priority": "null",
    }
    errors = errors_of(await client.get("/api/tasks", params=params, headers=auth))
    assert errors == {
        "status": "must be one of all, pending, completed",
        "priority": "must be one of low, medium, high",
        "starred": "must be true or false",
        "due_before": "must be a date YYYY-MM-DD",
        "limit": "must be a whole number from 1 to 200",
    }
    # Text is text: "null" is a search like any other.
    searched = await client.get("/api/tasks", params={"q": "null", "tag": "null"}, headers=auth)
    assert searched.status_code == 200
