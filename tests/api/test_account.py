"""The caller's own account over HTTP (API.md, "Accounts and sessions"): profile and email,
password change, account deletion, and logout with a refresh token alone. Every test runs on
PostgreSQL and on the in-memory storage, except those that look into the tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import AppFactory
from tests.api.test_auth import (
    LOGOUT,
    ME,
    assert_422,
    assert_problem,
    assert_session_ended,
    assert_session_works,
    assert_unauthorized,
    forge,
    jwt_claims,
    logged_in,
    login,
    refresh,
)
from tests.api.test_unauthorized import signed
from tests.support.app import PASSWORD, bearer, register, unique_email

PROFILE = "/api/auth/profile"
PASSWORD_CHANGE = "/api/auth/password"
NEW_PASSWORD = "a brand new passphrase"
TASKS = "/api/tasks"


async def patch_me(
    client: httpx.AsyncClient, pair: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(ME, json=body, headers=bearer(pair))


async def delete_me(
    client: httpx.AsyncClient, pair: dict[str, Any], password: str = PASSWORD
) -> httpx.Response:
    return await client.request("DELETE", ME, json={"password": password}, headers=bearer(pair))


async def change_password(
    client: httpx.AsyncClient,
    pair: dict[str, Any],
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
) -> httpx.Response:
    body = {"current_password": current, "new_password": new}
    return await client.post(PASSWORD_CHANGE, json=body, headers=bearer(pair))


async def current_user(client: httpx.AsyncClient, pair: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(ME, headers=bearer(pair))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- profile ---------------------------------------------------------------------------------


async def test_profile_is_an_alias_of_me(client: httpx.AsyncClient) -> None:
    pair = await register(client, name="Ada")
    response = await client.get(PROFILE, headers=bearer(pair))
    assert response.status_code == 200, response.text
    assert response.json() == await current_user(client, pair) == pair["user"]
    assert_unauthorized(await client.get(PROFILE), "authentication-required")


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_the_name_follows_the_register_rules(client: httpx.AsyncClient, method: str) -> None:
    pair = await register(client, name="Ada")
    path = ME if method == "PATCH" else PROFILE

    async def send(body: dict[str, Any]) -> httpx.Response:
        return await client.request(method, path, json=body, headers=bearer(pair))

    response = await send({"name": "  Ada Lovelace  "})
    assert response.status_code == 200, response.text
    assert response.json() == {**pair["user"], "name": "Ada Lovelace"}
    for bad in ("", "   ", "x" * 101):
        assert_422(await send({"name": bad}), "name")
    assert (await current_user(client, pair))["name"] == "Ada Lovelace"
    response = await send({"name": None})  # null clears it
    assert response.status_code == 200, response.text
    assert response.json()["name"] is None
    response = await send({})  # nothing named, nothing changed
    assert response.status_code == 200, response.text
    assert response.json() == {**pair["user"], "name": None}
    assert_422(await send({"nickname": "Ada"}), "nickname")
    assert_422(await send({"name": 7}), "name")


async def test_changing_the_email_needs_the_current_password(client: httpx.AsyncClient) -> None:
    email, new_email = unique_email("old"), unique_email("new")
    pair = await register(client, email)
    body = assert_422(await patch_me(client, pair, {"email": new_email}), "current_password")
    assert body["errors"] == [
        {"field": "current_password", "message": "is required to change the email"}
    ]
    assert (await current_user(client, pair))["email"] == email
    # Sent back as it is, the email is no change and needs nothing.
    response = await patch_me(client, pair, {"email": email, "name": "Ada"})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == email


async def test_a_wrong_current_password_is_401_and_the_session_stays(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    pair = await register(client, email, name="Ada")
    body = {"email": unique_email(), "current_password": "not my password", "name": "Grace"}
    assert_unauthorized(await patch_me(client, pair, body), "invalid-credentials")
    assert await current_user(client, pair) == pair["user"]  # neither email nor name written
    await assert_session_works(client, pair)
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_a_changed_email_is_the_login_and_the_old_one_is_free(
    client: httpx.AsyncClient,
) -> None:
    old, new = unique_email("old"), unique_email("new")
    pair = await register(client, old)
    response = await patch_me(
        client, pair, {"email": f"  {new.upper()} ", "current_password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**pair["user"], "email": new.upper()}
    await assert_session_works(client, pair)
    assert (await login(client, new)).status_code == 200
    assert_unauthorized(await login(client, old), "invalid-credentials")
    await register(client, old)


async def test_an_email_taken_in_any_case_is_409(client: httpx.AsyncClient) -> None:
    taken = unique_email("taken")
    await register(client, taken)
    email = unique_email()
    pair = await register(client, email)
    body = {"email": taken.upper(), "current_password": PASSWORD}
    problem = assert_problem(await patch_me(client, pair, body), 409)
    assert problem["type"] == "https://todo.dev/problems/email-taken"
    assert (await current_user(client, pair))["email"] == email


async def test_a_bad_email_is_422_and_names_every_problem(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    response = await patch_me(client, pair, {"email": "not an email", "name": ""})
    body = assert_422(response, "email")
    assert {e["field"] for e in body["errors"]} == {"email", "name"}
    assert_422(await patch_me(client, pair, {"email": None, "current_password": PASSWORD}), "email")


async def test_a_mistyped_field_never_hides_another_broken_rule(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    cases: list[tuple[str, str, dict[str, Any], set[str]]] = [
        ("PATCH", ME, {"name": "", "email": 7}, {"name", "email"}),
        ("PUT", PROFILE, {"name": 7, "email": "not an email"}, {"name", "email"}),
        ("POST", PASSWORD_CHANGE, {"current_password": 5, "new_password": "short"},
         {"current_password", "new_password"}),
    ]  # fmt: skip
    for method, path, body, fields in cases:
        response = await client.request(method, path, json=body, headers=bearer(pair))
        problem = assert_422(response, next(iter(fields)))
        assert {e["field"] for e in problem["errors"]} == fields, problem
    assert await current_user(client, pair) == pair["user"]


# -- password change -------------------------------------------------------------------------


async def test_a_password_change_ends_every_other_session(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    other = await logged_in(client, email)
    response = await change_password(client, pair)
    assert response.status_code == 204, response.text
    assert response.content == b""
    await assert_session_works(client, pair)  # the caller's stays
    assert (await refresh(client, pair["refresh_token"])).status_code == 200
    await assert_session_ended(client, other)
    assert_unauthorized(await login(client, email), "invalid-credentials")
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200


async def test_a_wrong_current_password_changes_nothing(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    other = await logged_in(client, email)
    response = await change_password(client, pair, current="not my password")
    assert_unauthorized(response, "invalid-credentials")
    for session in (pair, other):
        await assert_session_works(client, session)
    assert (await login(client, email)).status_code == 200
    assert_unauthorized(await login(client, email, NEW_PASSWORD), "invalid-credentials")


async def test_the_new_password_follows_the_register_policy(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    for bad in ("short", "x" * 129, "password123", email.upper()):
        assert_422(await change_password(client, pair, new=bad), "new_password")
    # Policy first: a wrong current password with a bad new one is still the 422.
    assert_422(await change_password(client, pair, current="wrong", new="short"), "new_password")
    body = assert_422(await change_password(client, pair, new=None), "new_password")  # type: ignore[arg-type]
    assert (await login(client, email)).status_code == 200
    assert body["status"] == 422
    missing = await client.post(PASSWORD_CHANGE, json={}, headers=bearer(pair))
    fields = {e["field"] for e in assert_422(missing, "new_password")["errors"]}
    assert fields == {"current_password", "new_password"}


# -- account deletion ------------------------------------------------------------------------


async def test_deleting_the_account_ends_everything_and_frees_the_email(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    pair = await register(client, email)
    other = await logged_in(client, email)
    created = await client.post(TASKS, json={"title": "mine"}, headers=bearer(pair))
    assert created.status_code == 201, created.text
    response = await delete_me(client, pair)
    assert response.status_code == 204, response.text
    assert response.content == b""
    for session in (pair, other):
        assert_unauthorized(await client.get(ME, headers=bearer(session)), "session-ended")
        assert_unauthorized(await client.get(TASKS, headers=bearer(session)), "session-ended")
        assert_unauthorized(await refresh(client, session["refresh_token"]), "session-ended")
    assert_unauthorized(await delete_me(client, pair), "session-ended")
    assert_unauthorized(await login(client, email), "invalid-credentials")
    again = await register(client, email.upper())
    assert again["user"]["id"] != pair["user"]["id"]
    listed = await client.get(TASKS, headers=bearer(again))
    assert listed.status_code == 200, listed.text
    assert listed.json() == []


async def test_a_wrong_password_deletes_nothing(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    assert_unauthorized(await delete_me(client, pair, "not my password"), "invalid-credentials")
    await assert_session_works(client, pair)
    assert (await login(client, email)).status_code == 200
    assert_422(await client.request("DELETE", ME, json={}, headers=bearer(pair)), "password")
    no_body = await client.request("DELETE", ME, headers=bearer(pair))
    assert_problem(no_body, 415)
    await assert_session_works(client, pair)


@pytest.mark.parametrize("storage", ["postgres"])
async def test_deletion_leaves_no_row_of_the_account(
    app_with: AppFactory, tmp_path: Path, engine: AsyncEngine
) -> None:
    async with app_with(data_dir=str(tmp_path)) as client:  # the reset mail goes to its outbox
        await delete_everything_of_an_account(client, engine)


async def delete_everything_of_an_account(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    pair = await register(client)
    await logged_in(client, pair["user"]["email"])
    for title in ("one", "two"):
        await client.post(TASKS, json={"title": title}, headers=bearer(pair))
    reset = await client.post("/api/auth/password-reset", json={"email": pair["user"]["email"]})
    assert reset.status_code == 202, reset.text
    user_id = uuid.UUID(pair["user"]["id"])

    async def rows() -> dict[str, int]:
        async with engine.connect() as connection:
            counts = {}
            for table, column in (
                ("users", "id"),
                ("tasks", "user_id"),
                ("sessions", "user_id"),
                ("password_resets", "user_id"),
            ):
                counts[table] = (
                    await connection.execute(
                        sa.text(f"SELECT count(*) FROM {table} WHERE {column} = :id"),
                        {"id": user_id},
                    )
                ).scalar_one()
            return counts

    assert await rows() == {"users": 1, "tasks": 2, "sessions": 2, "password_resets": 1}
    assert (await delete_me(client, pair)).status_code == 204
    assert await rows() == {"users": 0, "tasks": 0, "sessions": 0, "password_resets": 0}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", ME),
        ("PUT", PROFILE),
        ("DELETE", ME),
        ("POST", PASSWORD_CHANGE),
    ],
)
async def test_account_routes_need_a_token_before_the_body(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, content=b"{not json")
    assert_unauthorized(response, "authentication-required")


# -- logout with a refresh token alone -------------------------------------------------------


async def test_logout_with_a_refresh_token_alone(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    other = await logged_in(client, email)
    response = await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204, response.text
    await assert_session_ended(client, pair)
    await assert_session_works(client, other)
    # Used now: a second time is the 401 of an ended session.
    again = await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
    assert_unauthorized(again, "session-ended")


async def test_logout_with_an_expired_access_token_and_a_refresh_token(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client)
    expired = signed(pair, issued=datetime.now(UTC) - timedelta(hours=1))
    headers = {"Authorization": f"Bearer {expired}"}
    assert_unauthorized(await client.post(LOGOUT, headers=headers), "token-expired")
    await assert_session_works(client, pair)
    body = {"refresh_token": pair["refresh_token"]}
    response = await client.post(LOGOUT, json=body, headers=headers)
    assert response.status_code == 204, response.text
    await assert_session_ended(client, pair)


async def test_logout_with_an_unknown_or_used_refresh_token_is_401(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client)
    for unknown in ("", "not-a-token", "A" * 86, pair["access_token"]):
        response = await client.post(LOGOUT, json={"refresh_token": unknown})
        assert_unauthorized(response, "session-ended")
    rotated = await refresh(client, pair["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    used = await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
    assert_unauthorized(used, "session-ended")
    # As on /refresh, a rotated token coming back ends its session.
    await assert_session_ended(client, rotated.json())


async def test_logout_without_any_credentials_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.post(LOGOUT), "authentication-required")
    response = await client.post(LOGOUT, json={"refresh_token": None})
    assert_unauthorized(response, "authentication-required")
    assert_unauthorized(await client.post(LOGOUT, json={}), "authentication-required")


async def test_a_forged_access_token_is_401_whatever_the_body_holds(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client)
    claims = jwt_claims(pair["access_token"])
    forged = forge(claims, key="another-secret-that-is-long-enough-for-hs256-xyz")
    body = {"refresh_token": pair["refresh_token"]}
    for token in (forged, "garbage", pair["refresh_token"]):
        headers = {"Authorization": f"Bearer {token}"}
        assert_unauthorized(await client.post(LOGOUT, json=body, headers=headers), "invalid-token")
    await assert_session_works(client, pair)
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_a_valid_access_token_wins_over_the_body(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    other = await logged_in(client, email)
    body = {"refresh_token": other["refresh_token"]}
    response = await client.post(LOGOUT, json=body, headers=bearer(pair))
    assert response.status_code == 204, response.text
    await assert_session_ended(client, pair)
    await assert_session_works(client, other)
    assert (await refresh(client, other["refresh_token"])).status_code == 200
