"""Accounts and sessions, black-box over HTTP (API.md, "Accounts and sessions").

Every test runs against PostgreSQL and against the in-memory storage (see ``conftest.py``),
except the few that look into the ``users`` table, which are PostgreSQL-only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.security.refresh_tokens import MacRefreshTokens
from tests.support.app import PASSWORD, TEST_SECRET, bearer, register, unique_email

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

PROBLEM = "application/problem+json"
REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
LOGOUT_ALL = "/api/auth/logout-all"
ME = "/api/auth/me"

DEFAULT_ACCESS_SECONDS = 900
DEFAULT_REFRESH_SECONDS = 14 * 24 * 3600
PAIR_KEYS = {
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "refresh_expires_in",
    "user",
}
USER_KEYS = {"id", "email", "name", "created_at"}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def assert_422(response: httpx.Response, field: str) -> dict[str, Any]:
    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert field in fields, body
    return body


TOKEN_PROBLEMS = ("invalid-token", "token-expired", "session-ended")


def assert_unauthorized(response: httpx.Response, kind: str | None = None) -> dict[str, Any]:
    """A 401 of problem type ``kind`` (any of the bad-token types when not given)."""
    body = assert_problem(response, 401)
    slug = body["type"].removeprefix("https://todo.dev/problems/")
    assert slug == kind if kind else slug in TOKEN_PROBLEMS, body
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.split(" ")[0] == "Bearer", challenge
    if slug in TOKEN_PROBLEMS:
        assert 'error="invalid_token"' in challenge, challenge
    else:
        assert "invalid_token" not in challenge, challenge
    assert ('error_description="expired"' in challenge) == (slug == "token-expired"), challenge
    return body


def assert_429(response: httpx.Response, *, at_most: int) -> int:
    assert_problem(response, 429)
    retry_after = response.headers["retry-after"]
    assert re.fullmatch(r"\d+", retry_after), retry_after
    assert 1 <= int(retry_after) <= at_most, retry_after
    return int(retry_after)


def parse_timestamp(value: str) -> datetime:
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    return parsed


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_header(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(b64url_decode(token.split(".", maxsplit=1)[0]))
    return header


def jwt_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return claims


def assert_token_pair(
    pair: dict[str, Any],
    *,
    expires_in: int = DEFAULT_ACCESS_SECONDS,
    refresh_expires_in: int = DEFAULT_REFRESH_SECONDS,
) -> None:
    assert set(pair) == PAIR_KEYS, pair
    assert pair["token_type"] == "bearer"
    assert type(pair["expires_in"]) is int
    assert pair["expires_in"] == expires_in
    assert type(pair["refresh_expires_in"]) is int
    assert refresh_expires_in - 5 <= pair["refresh_expires_in"] <= refresh_expires_in
    assert isinstance(pair["access_token"], str)
    assert pair["access_token"].count(".") == 2
    refresh_token = pair["refresh_token"]
    assert isinstance(refresh_token, str)
    # opaque, >= 256 random bits (43 base64url characters or 64 hex digits at the very least)
    assert len(refresh_token) >= 43, refresh_token
    assert refresh_token != pair["access_token"]
    user = pair["user"]
    assert set(user) == USER_KEYS, user
    uuid.UUID(user["id"])
    parse_timestamp(user["created_at"])


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **kwargs: Any
) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password}, **kwargs)


async def logged_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = await login(client, email, password)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def me(client: httpx.AsyncClient, pair: dict[str, Any]) -> httpx.Response:
    return await client.get(ME, headers=bearer(pair))


async def assert_session_works(client: httpx.AsyncClient, pair: dict[str, Any]) -> None:
    response = await me(client, pair)
    assert response.status_code == 200, response.text


async def assert_session_ended(client: httpx.AsyncClient, pair: dict[str, Any]) -> None:
    """Both the access token and the refresh token of ``pair`` are rejected."""
    assert_unauthorized(await me(client, pair))
    assert_unauthorized(await refresh(client, pair["refresh_token"]))


def forge(
    claims: dict[str, Any],
    *,
    header: dict[str, Any] | None = None,
    key: str = TEST_SECRET,
    alg: str = "HS256",
) -> str:
    full_header = {"alg": alg, "typ": "at+jwt", **(header or {})}
    return jwt.encode(full_header, claims, OctKey.import_key(key), algorithms=[alg])


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    encoded_header = b64url_encode(json.dumps(header).encode())
    encoded_claims = b64url_encode(json.dumps(claims).encode())
    return f"{encoded_header}.{encoded_claims}."


def strong_password() -> str:
    return "Pw-" + secrets.token_urlsafe(12)


# --------------------------------------------------------------------------------------------
# register
# --------------------------------------------------------------------------------------------


async def test_register_answers_201_with_the_documented_token_pair(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email("ada")
    before = datetime.now(UTC)
    response = await client.post(
        REGISTER, json={"email": email, "password": PASSWORD, "name": "Ada"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    pair = response.json()
    assert_token_pair(pair)
    assert pair["user"]["email"] == email
    assert pair["user"]["name"] == "Ada"
    created = parse_timestamp(pair["user"]["created_at"])
    assert abs((created - before).total_seconds()) < 60

    header, claims = jwt_header(pair["access_token"]), jwt_claims(pair["access_token"])
    assert header["alg"] == "HS256"
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == pair["user"]["id"]
    uuid.UUID(claims["sid"])
    assert claims["jti"]
    assert claims["iss"] == "todo-api"
    assert claims["aud"] == "todo-api"
    assert claims["exp"] - claims["iat"] == DEFAULT_ACCESS_SECONDS
    assert abs(claims["iat"] - time.time()) < 60


async def test_token_settings_shape_the_pair(app_with: AppFactory) -> None:
    async with app_with(
        jwt_expiration_hours=0.5, jwt_issuer="issuer-x", jwt_audience="audience-y"
    ) as client:
        pair = await register(client)
        assert_token_pair(pair, expires_in=1800)
        claims = jwt_claims(pair["access_token"])
        assert claims["exp"] - claims["iat"] == 1800
        assert claims["iss"] == "issuer-x"
        assert claims["aud"] == "audience-y"
        await assert_session_works(client, pair)


async def test_each_login_gets_its_own_session_and_token_ids(client: httpx.AsyncClient) -> None:
    email = unique_email()
    first = await register(client, email)
    second = await logged_in(client, email)
    assert_token_pair(second)
    assert second["user"] == first["user"]
    one, two = jwt_claims(first["access_token"]), jwt_claims(second["access_token"])
    assert one["sid"] != two["sid"]
    assert one["jti"] != two["jti"]
    assert first["refresh_token"] != second["refresh_token"]


async def test_name_is_optional_and_null_when_not_given(client: httpx.AsyncClient) -> None:
    without = await register(client)
    assert without["user"]["name"] is None
    explicit_null = await register(client, name=None)
    assert explicit_null["user"]["name"] is None
    me_body = (await me(client, without)).json()
    assert me_body["name"] is None


async def test_name_is_trimmed_and_limited_to_100_characters(client: httpx.AsyncClient) -> None:
    trimmed = await register(client, name="  Ada Lovelace \u2003")
    assert trimmed["user"]["name"] == "Ada Lovelace"
    longest = await register(client, name="é" * 100)
    assert longest["user"]["name"] == "é" * 100
    for bad in ("", "   ", "n" * 101):
        response = await client.post(
            REGISTER, json={"email": unique_email(), "password": PASSWORD, "name": bad}
        )
        assert_422(response, "name")


async def test_email_is_returned_trimmed_as_registered(client: httpx.AsyncClient) -> None:
    email = unique_email("MiXeD.Case")
    pair = await register(client, f"  {email}\t")
    assert pair["user"]["email"] == email
    assert (await me(client, pair)).json()["email"] == email
    again = await logged_in(client, email.lower())
    assert again["user"]["email"] == email


async def test_duplicate_email_in_another_case_is_409(client: httpx.AsyncClient) -> None:
    email = unique_email("Taken")
    await register(client, email)
    for duplicate in (email, email.upper(), email.lower(), f"  {email.swapcase()} "):
        response = await client.post(
            REGISTER, json={"email": duplicate, "password": strong_password()}
        )
        assert_problem(response, 409)


async def test_policy_checks_come_before_the_409(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    short = await client.post(REGISTER, json={"email": email.upper(), "password": "short"})
    assert_422(short, "password")
    common = await client.post(REGISTER, json={"email": email, "password": "password1"})
    assert_422(common, "password")
    bad_name = await client.post(REGISTER, json={"email": email, "password": PASSWORD, "name": ""})
    assert_422(bad_name, "name")


async def test_password_length_limits(client: httpx.AsyncClient) -> None:
    seven = await client.post(REGISTER, json={"email": unique_email(), "password": "Zq8#vL2"})
    assert_422(seven, "password")
    await register(client, password="Zq8#vL2p")
    await register(client, password=secrets.token_hex(64))
    too_long = await client.post(
        REGISTER, json={"email": unique_email(), "password": secrets.token_hex(64) + "a"}
    )
    assert_422(too_long, "password")


async def test_password_length_counts_code_points(client: httpx.AsyncClient) -> None:
    seven = await client.post(REGISTER, json={"email": unique_email(), "password": "🔒" * 7})
    assert_422(seven, "password")
    await register(client, password="🔒" * 8)
    await register(client, password="🔒" * 128)
    too_long = await client.post(REGISTER, json={"email": unique_email(), "password": "🔒" * 129})
    assert_422(too_long, "password")


async def test_common_passwords_are_rejected(client: httpx.AsyncClient) -> None:
    for common in ("password1", "12345678", "qwertyuiop", "PassWord1", "QWERTYUIOP"):
        response = await client.post(REGISTER, json={"email": unique_email(), "password": common})
        assert_422(response, "password")


async def test_password_equal_to_the_email_is_rejected(client: httpx.AsyncClient) -> None:
    email = unique_email("Some.Body")
    for password in (email, email.upper(), email.lower(), email.swapcase()):
        response = await client.post(REGISTER, json={"email": email, "password": password})
        assert_422(response, "password")
    # and the account was never created
    await register(client, email)


async def test_unicode_passwords_work_and_are_never_truncated(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    password = ("Пароль-密码-🔐-ä" * 10)[:100]
    assert len(password) == 100
    await register(client, email, password=password)
    await logged_in(client, email, password)
    assert_unauthorized(await login(client, email, password[:99]), "invalid-credentials")
    assert_unauthorized(await login(client, email, password[:72]), "invalid-credentials")
    assert_unauthorized(await login(client, email, password + "x"), "invalid-credentials")


async def test_passwords_are_nfc_normalised_but_not_trimmed(client: httpx.AsyncClient) -> None:
    email = unique_email()
    decomposed = "Cafe\u0301-au-lait-2024"
    await register(client, email, password=decomposed)
    await logged_in(client, email, "Caf\u00e9-au-lait-2024")

    spaced_email = unique_email()
    await register(client, spaced_email, password="  spaced out secret  ")
    await logged_in(client, spaced_email, "  spaced out secret  ")
    assert_unauthorized(
        await login(client, spaced_email, "spaced out secret"), "invalid-credentials"
    )


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@", "@example.com", "a b@example.com", "", "   ", "a@@example.com"]
)
async def test_bad_email_syntax_is_422(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    assert_422(response, "email")


async def test_nul_and_lone_surrogates_are_rejected_never_500(client: httpx.AsyncClient) -> None:
    bodies = [
        b'{"email": "%s", "password": "abc\\u0000defghij"}',
        b'{"email": "%s", "password": "abc\\ud800defghij"}',
        b'{"email": "%s", "password": "a proper password", "name": "A\\u0000"}',
        b'{"email": "%s", "password": "a proper password", "name": "\\udc00x"}',
    ]
    for body in bodies:
        email = unique_email()
        response = await client.post(
            REGISTER,
            content=body.replace(b"%s", email.encode()),
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)
        # never stored: the email is still free
        await register(client, email)
    for password in ('"abc\\u0000defghij"', '"abc\\ud800defghij"'):
        response = await client.post(
            LOGIN,
            content=f'{{"email": "{unique_email()}", "password": {password}}}'.encode(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (400, 401, 422), response.text


async def test_register_requires_email_and_password(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json={"name": "Nobody"})
    body = assert_problem(response, 422)
    assert {error["field"] for error in body["errors"]} >= {"email", "password"}


# --------------------------------------------------------------------------------------------
# login
# --------------------------------------------------------------------------------------------


async def test_login_answers_a_token_pair_and_email_is_case_insensitive(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email("CaseY")
    registered = await register(client, email, name="Casey")
    for variant in (email, email.lower(), email.upper(), f"  {email.swapcase()}  "):
        response = await login(client, variant)
        assert response.status_code == 200, (variant, response.text)
        pair = response.json()
        assert_token_pair(pair)
        assert pair["user"] == registered["user"]
        await assert_session_works(client, pair)


async def test_versioned_paths_work_identically(client: httpx.AsyncClient) -> None:
    email = unique_email()
    registered = await register(client, email)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    pair = response.json()
    mine = await client.get("/api/v1/auth/me", headers=bearer(pair))
    assert mine.status_code == 200, mine.text
    assert mine.json() == registered["user"]


async def test_unknown_email_and_wrong_password_are_the_same_401(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)
    wrong_password = await login(client, email, "not the right password")
    unknown_email = await login(client, unique_email(), "not the right password")
    assert_unauthorized(wrong_password, "invalid-credentials")
    assert_unauthorized(unknown_email, "invalid-credentials")

    def comparable_body(response: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        return {k: v for k, v in body.items() if k not in ("request_id", "instance")}

    def comparable_headers(response: httpx.Response) -> list[tuple[str, str]]:
        return sorted(
            (k.lower(), v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("x-request-id", "date", "content-length")
        )

    assert comparable_body(wrong_password) == comparable_body(unknown_email)
    assert comparable_headers(wrong_password) == comparable_headers(unknown_email)
    for response in (wrong_password, unknown_email):
        assert "access_token" not in response.text


async def test_login_validation_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, json={"email": unique_email()})
    assert_422(response, "password")


# --------------------------------------------------------------------------------------------
# me and bearer tokens
# --------------------------------------------------------------------------------------------


async def test_me_returns_the_user_of_the_access_token(client: httpx.AsyncClient) -> None:
    pair = await register(client, name="Grace")
    response = await me(client, pair)
    assert response.status_code == 200, response.text
    assert response.json() == pair["user"]
    lower_scheme = await client.get(ME, headers={"Authorization": f"bearer {pair['access_token']}"})
    assert lower_scheme.status_code == 200, lower_scheme.text
    other = await register(client, name="Other")
    assert (await me(client, other)).json()["id"] == other["user"]["id"] != pair["user"]["id"]


async def test_missing_authorization_is_401_with_a_bare_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    for path, method in ((ME, "GET"), (LOGOUT, "POST"), (LOGOUT_ALL, "POST")):
        response = await client.request(method, path)
        assert_unauthorized(response, "authentication-required")


async def test_bad_bearer_tokens_are_401_invalid_token(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    for authorization in (
        "Bearer not-a-token",
        "Bearer a.b.c",
        f"Bearer {pair['access_token']}x",
        f"Bearer {pair['access_token'][:-3]}",
        "Bearer ",
        f"Basic {base64.b64encode(b'user:pass').decode()}",
        pair["access_token"],
    ):
        response = await client.get(ME, headers={"Authorization": authorization})
        assert response.status_code == 401, (authorization, response.text)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer"), authorization
    garbage = await client.get(ME, headers={"Authorization": "Bearer garbage!!"})
    assert_unauthorized(garbage)


async def test_forged_access_tokens_are_rejected(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    real = jwt_claims(pair["access_token"])
    now = int(time.time())
    good = {
        "sub": real["sub"],
        "sid": real["sid"],
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
        "iss": "todo-api",
        "aud": "todo-api",
    }

    def without(name: str) -> dict[str, Any]:
        return {k: v for k, v in good.items() if k != name}

    # The forging itself must be right, or every rejection below would prove nothing.
    control = await client.get(ME, headers={"Authorization": f"Bearer {forge(good)}"})
    assert control.status_code == 200, control.text

    other = jwt_claims((await register(client))["access_token"])
    none_header = {"alg": "none", "typ": "at+jwt"}
    real_signature = pair["access_token"].split(".")[2]
    cases: dict[str, str] = {
        "alg none": unsigned(good, none_header),
        "alg None": unsigned(good, {"alg": "None", "typ": "at+jwt"}),
        "alg none with a signature": unsigned(good, none_header) + real_signature,
        "HS512 with the right secret": forge(good, alg="HS512"),
        "HS384 with the right secret": forge(good, alg="HS384"),
        "HS256 with a wrong key": forge(good, key="another-secret-of-sufficient-length-0123456789"),
        "expired 60s ago": forge({**good, "iat": now - 1000, "exp": now - 60}),
        "expired an hour ago": forge({**good, "iat": now - 7200, "exp": now - 3600}),
        "missing exp": forge(without("exp")),
        "missing sub": forge(without("sub")),
        "missing jti": forge(without("jti")),
        "missing sid": forge(without("sid")),
        "missing iss": forge(without("iss")),
        "missing aud": forge(without("aud")),
        "wrong iss": forge({**good, "iss": "someone-else"}),
        "wrong aud": forge({**good, "aud": "someone-else"}),
        "exp as a string": forge({**good, "exp": str(now + 600)}),
        "sub of another user": forge({**good, "sub": other["sub"]}),
        "sid of another user's session": forge({**good, "sid": other["sid"]}),
        "unknown sid": forge({**good, "sid": str(uuid.uuid4())}),
        "sub not a uuid": forge({**good, "sub": "admin"}),
        "typ JWT": forge(good, header={"typ": "JWT"}),
        "typ missing": jwt.encode({"alg": "HS256"}, good, OctKey.import_key(TEST_SECRET)),
        "typ refresh": forge(good, header={"typ": "rt+jwt"}),
        "jku header": forge(good, header={"jku": "https://evil.example/jwks.json"}),
        "jwk header": forge(
            good, header={"jwk": {"kty": "oct", "k": b64url_encode(TEST_SECRET.encode())}}
        ),
        "x5u header": forge(good, header={"x5u": "https://evil.example/cert.pem"}),
        "garbage": "garbage",
        "empty segments": "..",
        "refresh token as bearer": pair["refresh_token"],
    }
    accepted = []
    for name, token in cases.items():
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 401:
            accepted.append(f"{name}: {response.status_code}")
            continue
        assert_unauthorized(response)
    assert accepted == [], accepted
    # the real token still works: nothing above damaged the session
    await assert_session_works(client, pair)


async def test_refresh_never_accepts_an_access_token(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    assert_unauthorized(await refresh(client, pair["access_token"]))
    assert_unauthorized(await refresh(client, "garbage"))
    assert_unauthorized(await refresh(client, pair["refresh_token"] + "x"))
    assert_422(await client.post(REFRESH, json={}), "refresh_token")
    # none of these spent the real refresh token
    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 200, response.text


# --------------------------------------------------------------------------------------------
# refresh, rotation and reuse
# --------------------------------------------------------------------------------------------


async def test_session_lifecycle(client: httpx.AsyncClient) -> None:
    email = unique_email()
    registered = await register(client, email)
    mine = await me(client, registered)
    assert mine.status_code == 200
    assert mine.json() == registered["user"]

    # refresh: a new pair, the refresh token rotated, its lifetime not extended
    response = await refresh(client, registered["refresh_token"])
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert_token_pair(rotated)
    assert rotated["user"] == registered["user"]
    assert rotated["refresh_token"] != registered["refresh_token"]
    assert rotated["access_token"] != registered["access_token"]
    assert rotated["refresh_expires_in"] <= registered["refresh_expires_in"]
    assert (
        jwt_claims(rotated["access_token"])["sid"] == jwt_claims(registered["access_token"])["sid"]
    )
    await assert_session_works(client, rotated)

    # presenting the rotated-away refresh token again: 401, and the whole session ends
    assert_unauthorized(await refresh(client, registered["refresh_token"]))
    assert_unauthorized(await me(client, rotated))
    assert_unauthorized(await refresh(client, rotated["refresh_token"]))
    assert_unauthorized(await me(client, registered))

    # log in again, then log out: that session ends on the very next request
    fresh = await logged_in(client, email)
    await assert_session_works(client, fresh)
    response = await client.post(LOGOUT, headers=bearer(fresh))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_unauthorized(await me(client, fresh))
    assert_unauthorized(await refresh(client, fresh["refresh_token"]))
    assert_unauthorized(await client.post(LOGOUT, headers=bearer(fresh)))
    assert_unauthorized(await client.post(LOGOUT_ALL, headers=bearer(fresh)))


async def test_a_refreshed_pair_can_be_refreshed_again(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    seen = {pair["refresh_token"]}
    for _ in range(3):
        response = await refresh(client, pair["refresh_token"])
        assert response.status_code == 200, response.text
        pair = response.json()
        assert pair["refresh_token"] not in seen
        seen.add(pair["refresh_token"])
        await assert_session_works(client, pair)


async def test_reuse_ends_only_that_session(client: httpx.AsyncClient) -> None:
    email = unique_email()
    first = await register(client, email)
    second = await logged_in(client, email)
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200
    rotated = response.json()
    assert_unauthorized(await refresh(client, first["refresh_token"]))
    await assert_session_ended(client, rotated)
    await assert_session_works(client, second)
    response = await refresh(client, second["refresh_token"])
    assert response.status_code == 200, response.text


async def test_refresh_reuse_is_logged_as_a_security_event(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    pair = await register(client)
    assert (await refresh(client, pair["refresh_token"])).status_code == 200
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    assert_unauthorized(await refresh(client, pair["refresh_token"]))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings, [r.getMessage() for r in caplog.records]


async def test_twenty_concurrent_refreshes_one_success_then_the_session_ends(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client)
    responses = await asyncio.gather(*(refresh(client, pair["refresh_token"]) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 19, statuses
    winner = next(r.json() for r in responses if r.status_code == 200)
    await assert_session_ended(client, winner)
    await assert_session_ended(client, pair)


async def test_rotation_does_not_extend_and_refresh_tokens_expire(app_with: AppFactory) -> None:
    async with app_with(refresh_token_expiration_days=2 / 86400) as client:
        pair = await register(client)
        assert_token_pair(pair, refresh_expires_in=2)
        assert pair["refresh_expires_in"] >= 1
        await asyncio.sleep(1.1)
        response = await refresh(client, pair["refresh_token"])
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert 0 <= rotated["refresh_expires_in"] < pair["refresh_expires_in"], rotated
        await asyncio.sleep(1.0)
        assert_unauthorized(await refresh(client, rotated["refresh_token"]))


async def test_a_refresh_token_several_rotations_old_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    bystander = await register(client, email)
    history = [await logged_in(client, email)]
    for _ in range(3):
        response = await refresh(client, history[-1]["refresh_token"])
        assert response.status_code == 200, response.text
        history.append(response.json())
    assert_unauthorized(await refresh(client, history[1]["refresh_token"]))  # two rotations old
    for pair in history:
        await assert_session_ended(client, pair)
    await assert_session_works(client, bystander)


async def test_forged_refresh_tokens_are_401_and_change_nothing(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    token = pair["refresh_token"]
    session_id = uuid.UUID(jwt_claims(pair["access_token"])["sid"])
    middle = len(token) // 2
    forged = {
        "another secret, this session": MacRefreshTokens(b"not-the-test-secret-0123456789").issue(
            session_id
        )[0],
        "garbled middle": token[:middle]
        + ("A" if token[middle] != "A" else "B")
        + token[middle + 1 :],
        "truncated": token[:-1],
        "half": token[:middle],
        "extended": token + "A",
        "session id": str(session_id),
    }
    for name, value in forged.items():
        assert value != token, name
        assert_unauthorized(await refresh(client, value))
    await assert_session_works(client, pair)  # no forgery counted as reuse
    response = await refresh(client, token)
    assert response.status_code == 200, response.text


async def test_logins_beyond_max_sessions_end_the_stalest(app_with: AppFactory) -> None:
    async with app_with(max_sessions_per_user=3) as client:
        email = unique_email()
        bystander = await register(client)
        pairs = [await register(client, email)]
        for _ in range(2):
            pairs.append(await logged_in(client, email))
        response = await refresh(client, pairs[0]["refresh_token"])  # protects the first
        assert response.status_code == 200, response.text
        pairs[0] = response.json()
        pairs.append(await logged_in(client, email))
        await assert_session_ended(client, pairs[1])
        for pair in (pairs[0], pairs[2], pairs[3], bystander):
            await assert_session_works(client, pair)
            response = await refresh(client, pair["refresh_token"])
            assert response.status_code == 200, response.text


# --------------------------------------------------------------------------------------------
# logout and logout-all
# --------------------------------------------------------------------------------------------


async def test_logout_body_is_optional(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    json_type = {"content-type": "application/json"}
    bodies: list[tuple[bytes | None, dict[str, str]]] = [
        (None, {}),
        (b"", json_type),
        (b"{}", json_type),
        (b'{"refresh_token": null}', json_type),
    ]
    for content, headers in bodies:
        pair = await logged_in(client, email)
        response = await client.post(LOGOUT, headers={**bearer(pair), **headers}, content=content)
        assert response.status_code == 204, (content, response.text)
        await assert_session_ended(client, pair)


async def test_logout_with_its_own_refresh_token_in_the_body(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    response = await client.post(
        LOGOUT, headers=bearer(pair), json={"refresh_token": pair["refresh_token"]}
    )
    assert response.status_code == 204, response.text
    await assert_session_ended(client, pair)


async def test_logout_ignores_another_sessions_refresh_token(client: httpx.AsyncClient) -> None:
    email = unique_email()
    other_session = await register(client, email)
    stranger = await register(client)
    for other in (other_session, stranger):
        caller = await logged_in(client, email)
        response = await client.post(
            LOGOUT, headers=bearer(caller), json={"refresh_token": other["refresh_token"]}
        )
        assert response.status_code == 204, response.text
        await assert_session_ended(client, caller)
        await assert_session_works(client, other)
    for other in (other_session, stranger):
        response = await refresh(client, other["refresh_token"])
        assert response.status_code == 200, response.text


async def test_logout_all_ends_every_session_of_the_user_only(client: httpx.AsyncClient) -> None:
    email = unique_email()
    registered = await register(client, email)
    first = await logged_in(client, email)
    second = await logged_in(client, email)
    rotated_response = await refresh(client, registered["refresh_token"])
    assert rotated_response.status_code == 200
    rotated = rotated_response.json()
    bystander = await register(client)
    for pair in (first, second, rotated, bystander):
        await assert_session_works(client, pair)

    response = await client.post(LOGOUT_ALL, headers=bearer(first))
    assert response.status_code == 204, response.text
    assert response.content == b""
    for pair in (first, second, rotated):
        await assert_session_ended(client, pair)
    await assert_session_works(client, bystander)
    response = await refresh(client, bystander["refresh_token"])
    assert response.status_code == 200, response.text
    # the user can still log in afresh
    await assert_session_works(client, await logged_in(client, email))


# --------------------------------------------------------------------------------------------
# rate limits
# --------------------------------------------------------------------------------------------


async def test_register_is_rate_limited_per_ip(app_with: AppFactory) -> None:
    async with app_with(auth_rate_limit="3/minute") as client:
        pairs = [await register(client) for _ in range(3)]
        response = await client.post(REGISTER, json={"email": unique_email(), "password": PASSWORD})
        assert_429(response, at_most=60)
        # refresh, me and logout are not limited
        pair = pairs[0]
        for _ in range(5):
            assert (await me(client, pair)).status_code == 200
            response = await refresh(client, pair["refresh_token"])
            assert response.status_code == 200, response.text
            pair = response.json()
        response = await client.post(LOGOUT, headers=bearer(pairs[1]))
        assert response.status_code == 204, response.text


async def test_login_is_rate_limited_per_ip(app_with: AppFactory) -> None:
    async with app_with(auth_rate_limit="3/minute") as client:
        for _ in range(3):
            response = await login(client, unique_email(), "whatever password")
            assert_unauthorized(response, "invalid-credentials")
        response = await login(client, unique_email(), "whatever password")
        assert_429(response, at_most=60)


async def test_forwarded_for_is_honoured_only_from_trusted_proxies(app_with: AppFactory) -> None:
    async with app_with(auth_rate_limit="3/minute", trusted_proxies="203.0.113.7") as client:
        first = {"x-forwarded-for": "198.51.100.1"}
        second = {"x-forwarded-for": "198.51.100.2"}
        for _ in range(3):
            assert_unauthorized(
                await login(client, unique_email(), "wrong password", headers=first),
                "invalid-credentials",
            )
        assert_429(await login(client, unique_email(), "wrong password", headers=first), at_most=60)
        for _ in range(3):
            assert_unauthorized(
                await login(client, unique_email(), "wrong password", headers=second),
                "invalid-credentials",
            )
        assert_429(
            await login(client, unique_email(), "wrong password", headers=second), at_most=60
        )

    async with app_with(auth_rate_limit="3/minute") as client:
        for index in range(3):
            spoofed = {"x-forwarded-for": f"198.51.100.{10 + index}"}
            assert_unauthorized(
                await login(client, unique_email(), "wrong password", headers=spoofed),
                "invalid-credentials",
            )
        spoofed = {"x-forwarded-for": "198.51.100.99"}
        assert_429(
            await login(client, unique_email(), "wrong password", headers=spoofed), at_most=60
        )


async def test_login_failures_block_the_email_even_for_the_right_password(
    app_with: AppFactory,
) -> None:
    async with app_with(login_failure_limit="5/15 minutes") as client:
        email = unique_email("Blocked")
        bystander = unique_email()
        await register(client, email)
        await register(client, bystander)
        for _ in range(5):
            assert_unauthorized(
                await login(client, email, "wrong password!"), "invalid-credentials"
            )
        retry_after = assert_429(await login(client, email), at_most=15 * 60)
        assert retry_after > 60
        assert_429(await login(client, email.upper()), at_most=15 * 60)
        assert_429(await login(client, email, "wrong password!"), at_most=15 * 60)
        # another email is not affected
        await logged_in(client, bystander)


async def test_login_failures_for_unknown_emails_are_limited_too(app_with: AppFactory) -> None:
    async with app_with(login_failure_limit="5/15 minutes") as client:
        email = unique_email()
        for _ in range(5):
            assert_unauthorized(
                await login(client, email, "wrong password!"), "invalid-credentials"
            )
        assert_429(await login(client, email, "wrong password!"), at_most=15 * 60)


async def test_a_successful_login_resets_the_failure_count(app_with: AppFactory) -> None:
    async with app_with(login_failure_limit="5/15 minutes") as client:
        email = unique_email()
        await register(client, email)
        for _ in range(4):
            assert_unauthorized(
                await login(client, email, "wrong password!"), "invalid-credentials"
            )
        await logged_in(client, email)
        for _ in range(4):
            assert_unauthorized(
                await login(client, email, "wrong password!"), "invalid-credentials"
            )
        await logged_in(client, email)


# --------------------------------------------------------------------------------------------
# secrets at rest and in logs
# --------------------------------------------------------------------------------------------


async def test_secrets_are_never_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Canary-Pa55word-XYZZY"
    wrong = "Canary-Wr0ng-Pa55word-PLUGH"
    email = unique_email()
    pairs = [await register(client, email, password=password)]
    pairs.append(await logged_in(client, email, password))
    assert_unauthorized(await login(client, email, wrong), "invalid-credentials")
    response = await refresh(client, pairs[0]["refresh_token"])
    assert response.status_code == 200
    pairs.append(response.json())
    assert_unauthorized(await refresh(client, pairs[0]["refresh_token"]))  # reuse
    response = await client.post(
        LOGOUT, headers=bearer(pairs[1]), json={"refresh_token": pairs[1]["refresh_token"]}
    )
    assert response.status_code == 204
    pairs.append(await logged_in(client, email, password))
    assert (await me(client, pairs[-1])).status_code == 200
    response = await client.post(LOGOUT_ALL, headers=bearer(pairs[-1]))
    assert response.status_code == 204
    assert_unauthorized(await me(client, pairs[-1]))

    secrets_ = {password, wrong}
    for pair in pairs:
        secrets_ |= {pair["access_token"], pair["refresh_token"]}
        # a signature or payload alone would be a leak too
        secrets_ |= set(pair["access_token"].split(".")[1:])
    assert caplog.records, "nothing was captured, so nothing was checked"
    leaks = []
    for record in caplog.records:
        texts = [record.getMessage()]
        for value in record.__dict__.values():
            texts += [str(value), repr(value)]
        for secret in secrets_:
            if any(secret in text for text in texts):
                leaks.append((record.name, record.getMessage(), secret[:12]))
    assert leaks == [], leaks
    assert password not in caplog.text
    assert wrong not in caplog.text


@pytest.mark.parametrize("storage", ["postgres"])
async def test_passwords_are_stored_as_argon2id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    email = unique_email()
    password = "Stored-Pa55word-QUUX"
    pair = await register(client, email, password=password)
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                sa.text("SELECT password_hash FROM users WHERE id = :id"),
                {"id": uuid.UUID(pair["user"]["id"])},
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$"), stored
    assert password not in stored
    parameters = re.search(r"\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$", stored)
    assert parameters is not None, stored
    assert int(parameters["m"]) >= 19 * 1024, stored
    assert int(parameters["t"]) >= 2, stored


@pytest.mark.parametrize("storage", ["postgres"])
async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    pair = await register(client)
    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 200
    current = response.json()["refresh_token"]
    tokens = {pair["refresh_token"], current}
    session_id = uuid.UUID(jwt_claims(pair["access_token"])["sid"])
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.text("SELECT * FROM sessions"))).mappings().all()
        token_table = await connection.scalar(sa.text("SELECT to_regclass('refresh_tokens')"))
    assert token_table is None  # no table of tokens, spent or not
    assert len(rows) == 1
    assert rows[0]["id"] == session_id
    stored = bytes(rows[0]["refresh_hash"])
    # the hash of the current token, and of it alone
    minted = MacRefreshTokens(TEST_SECRET.encode())
    assert minted.read(current) == (session_id, stored)
    assert minted.read(pair["refresh_token"]) not in (None, (session_id, stored))
    dumped = repr(list(rows))
    for value in rows[0].values():
        if isinstance(value, bytes | memoryview):
            dumped += bytes(value).decode("latin-1")
    for token in tokens:
        assert token not in dumped
        assert token[:20] not in dumped
        random_part = b64url_decode(token)[16:48]
        assert random_part.decode("latin-1") not in dumped


@pytest.mark.parametrize("storage", ["postgres"])
async def test_outdated_hashes_are_upgraded_at_the_next_login(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    from argon2 import PasswordHasher

    email = unique_email()
    password = "Upgrade-Pa55word-FROB"
    pair = await register(client, email, password=password)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(password)
    user_id = uuid.UUID(pair["user"]["id"])
    async with engine.begin() as connection:
        await connection.execute(
            sa.text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": weak, "id": user_id},
        )
    await logged_in(client, email, password)
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                sa.text("SELECT password_hash FROM users WHERE id = :id"), {"id": user_id}
            )
        ).scalar_one()
    assert stored != weak
    assert stored.startswith("$argon2id$")
    assert "m=8192" not in stored
    await logged_in(client, email, password)
    assert_unauthorized(await login(client, email, password + "!"), "invalid-credentials")
