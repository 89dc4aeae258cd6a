"""Every 401 says what a client should do next, by its problem ``type`` (API.md, "Errors")."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from adapters.security.jwt_tokens import JwtAccessTokens
from tests.api.test_auth import (
    LOGOUT,
    ME,
    REFRESH,
    assert_unauthorized,
    jwt_claims,
    logged_in,
    login,
)
from tests.support.app import TEST_SECRET, bearer, register, unique_email

TASKS = "/api/tasks"


def signed(pair: dict[str, Any], *, issued: datetime, issuer: str = "todo-api") -> str:
    """An access token for the pair's session, as the service would have issued it at ``issued``."""
    tokens = JwtAccessTokens(
        TEST_SECRET.encode(), issuer=issuer, audience="todo-api", lifetime_seconds=60
    )
    original = jwt_claims(pair["access_token"])
    return tokens.issue_access(UUID(original["sub"]), UUID(original["sid"]), issued)


async def test_an_expired_access_token_says_refresh_then_retry(client: httpx.AsyncClient) -> None:
    pair = await register(client, unique_email())
    expired = signed(pair, issued=datetime.now(UTC) - timedelta(hours=1))
    for method, path in (("GET", TASKS), ("GET", ME), ("POST", LOGOUT)):
        response = await client.request(
            method, path, headers={"authorization": f"Bearer {expired}"}
        )
        assert_unauthorized(response, "token-expired")
    fresh = signed(pair, issued=datetime.now(UTC))
    assert (
        await client.get(TASKS, headers={"authorization": f"Bearer {fresh}"})
    ).status_code == 200


async def test_an_expired_token_that_is_wrong_otherwise_is_invalid(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client, unique_email())
    foreign = signed(pair, issued=datetime.now(UTC) - timedelta(hours=1), issuer="someone-else")
    response = await client.get(TASKS, headers={"authorization": f"Bearer {foreign}"})
    assert_unauthorized(response, "invalid-token")


async def test_an_ended_session_says_log_in_again(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    pair = await logged_in(client, email)
    assert (await client.post(LOGOUT, headers=bearer(pair))).status_code == 204
    assert_unauthorized(await client.get(TASKS, headers=bearer(pair)), "session-ended")
    assert_unauthorized(await client.get(ME, headers=bearer(pair)), "session-ended")
    refreshed = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert_unauthorized(refreshed, "session-ended")


async def test_a_reused_or_unknown_refresh_token_says_log_in_again(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client, unique_email())
    first = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert first.status_code == 200
    reused = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert_unauthorized(reused, "session-ended")
    unknown = await client.post(REFRESH, json={"refresh_token": "x" * 64})
    assert_unauthorized(unknown, "session-ended")


async def test_no_credentials_and_junk_credentials_are_told_apart(
    client: httpx.AsyncClient,
) -> None:
    assert_unauthorized(await client.get(TASKS), "authentication-required")
    for junk in ("Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer "):
        response = await client.get(TASKS, headers={"authorization": junk})
        assert_unauthorized(response, "invalid-token")


async def test_wrong_password_says_invalid_credentials(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    assert_unauthorized(await login(client, email, "not the password"), "invalid-credentials")


async def test_a_validly_signed_token_with_a_hostile_payload_is_invalid(
    client: httpx.AsyncClient,
) -> None:
    """Signed with the service's own secret, so it reaches the claims: nesting deep enough to
    exhaust the JSON decoder's recursion is a 401, never a 500."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"at+jwt"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}")
    signing_input = header + b"." + payload.rstrip(b"=")
    digest = hmac.new(TEST_SECRET.encode(), signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(digest).rstrip(b"=")).decode()
    response = await client.get(TASKS, headers={"authorization": f"Bearer {token}"})
    assert_unauthorized(response, "invalid-token")
