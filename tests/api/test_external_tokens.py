"""Tokens of a Better Auth front end (API.md, "External tokens"), on both storages, with the
JWKS served over HTTP by the test itself."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from dishka import AsyncContainer, Provider, Scope, provide
from joserfc.jwk import OctKey
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.security.external_tokens import ExternalTokenRouter, JwksVerifier
from adapters.security.jwks_http import HttpJwksSource
from adapters.security.jwks_keys import JwksKeys
from application.auth_ports import ExternalTokenVerifier
from entrypoints.http.app import create_app
from entrypoints.ioc import make_container
from entrypoints.settings import Settings
from tests.support.app import PASSWORD, TEST_SECRET, bearer, register
from tests.support.external_issuer import (
    ISSUER,
    JwksServer,
    auth,
    claims_for,
    jwks_server,
    mint,
    public_jwk,
    signing_key,
    unsigned,
    unused_port_url,
)
from tests.support.statements import counting_statements

PROBLEMS = "https://todo.dev/problems/"
# Tests of keys and claims alone: the storage plays no part, so the in-memory one does.
KEYS_ONLY = pytest.mark.parametrize("storage", ["memory"])


class ExternalTokensOverride(Provider):
    """The test's own external verifier: a second issuer, or a clock the test moves."""

    def __init__(self, verifier: ExternalTokenVerifier) -> None:
        super().__init__()
        self._verifier = verifier

    @provide(scope=Scope.APP)
    def external_tokens(self) -> ExternalTokenVerifier:
        return self._verifier


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, *overrides: Provider
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncContainer]]:
    container = make_container(settings, *overrides)
    app = create_app(container, settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(manager.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, container


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    with jwks_server() as server:
        yield server


@pytest.fixture
def external_settings(
    settings_for: Callable[..., Settings], jwks: JwksServer
) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values = {"external_jwt_issuer": ISSUER, "external_jwks_url": jwks.url, **overrides}
        return settings_for(**values)

    return build


@pytest.fixture
async def client(external_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(external_settings()) as (client, _):
        yield client


def problem_type(response: httpx.Response) -> str:
    return str(response.json()["type"]).removeprefix(PROBLEMS)


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256", "PS256"])
async def test_a_token_signed_by_a_published_key_is_accepted(
    client: httpx.AsyncClient, jwks: JwksServer, algorithm: str
) -> None:
    key = signing_key(algorithm)
    jwks.publish(key)
    token = mint(key, algorithm, claims_for("ada", email="ada@front.end", name="Ada L."))

    me = await client.get("/api/auth/me", headers=auth(token))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "ada@front.end"
    assert me.json()["name"] == "Ada L."
    created = await client.post("/api/tasks", json={"title": "Ship"}, headers=auth(token))
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == me.json()["id"]
    listed = await client.get("/api/tasks", headers=auth(token))
    assert [t["title"] for t in listed.json()] == ["Ship"]


async def test_me_follows_the_latest_token_and_the_account_stays_one(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    first = await client.get("/api/auth/me", headers=auth(mint(key, "EdDSA", claims_for("bo"))))
    renamed = claims_for("bo", email="bo@new.example", name="Bo Renamed")
    second = await client.get("/api/auth/me", headers=auth(mint(key, "EdDSA", renamed)))
    assert first.json()["id"] == second.json()["id"]
    assert (second.json()["email"], second.json()["name"]) == ("bo@new.example", "Bo Renamed")


async def test_an_external_user_is_never_merged_with_a_local_account_by_email(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    local = await register(client, email="same@example.com")
    key = signing_key()
    jwks.publish(key)
    token = mint(key, "EdDSA", claims_for("same", email="same@example.com"))
    me = await client.get("/api/auth/me", headers=auth(token))
    assert me.status_code == 200
    assert me.json()["id"] != local["user"]["id"]
    await client.post("/api/tasks", json={"title": "external"}, headers=auth(token))
    mine = await client.get("/api/tasks", headers=bearer(local))
    assert mine.json() == []
    # The local account still logs in; the email is not taken from it.
    login = await client.post(
        "/api/auth/login", json={"email": "same@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200


@KEYS_ONLY
async def test_key_rotation_picks_up_a_new_kid_and_keeps_the_old_one_while_published(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    old, new = signing_key(), signing_key()
    jwks.publish(old)
    old_token = mint(old, "EdDSA", claims_for("rot"))
    assert (await client.get("/api/auth/me", headers=auth(old_token))).status_code == 200

    jwks.publish(old, new)  # the front end rotates: both are published for a while
    new_token = mint(new, "EdDSA", claims_for("rot"))
    assert (await client.get("/api/auth/me", headers=auth(new_token))).status_code == 200
    assert (await client.get("/api/auth/me", headers=auth(old_token))).status_code == 200
    assert jwks.fetches == 2  # the unknown kid refetched the set at once


@KEYS_ONLY
async def test_a_key_no_longer_published_stops_working_once_the_cache_expires(
    external_settings: Callable[..., Settings], jwks: JwksServer
) -> None:
    clock = Monotonic()
    verifier = jwks_verifier(jwks.url, ISSUER, clock)
    old, new = signing_key(), signing_key()
    jwks.publish(old)
    async with serve(external_settings(), ExternalTokensOverride(verifier)) as (client, _):
        old_token = mint(old, "EdDSA", claims_for("rot"))
        assert (await client.get("/api/auth/me", headers=auth(old_token))).status_code == 200
        jwks.publish(new)
        clock.now += 599  # still fresh: the old key is used from the cache
        assert (await client.get("/api/auth/me", headers=auth(old_token))).status_code == 200
        assert jwks.fetches == 1
        clock.now += 2  # 10 minutes (Better Auth sends no Cache-Control): refetched
        refused = await client.get("/api/auth/me", headers=auth(old_token))
        assert refused.status_code == 401
        assert problem_type(refused) == "invalid-token"
        assert jwks.fetches == 2


@KEYS_ONLY
async def test_cache_control_max_age_sets_how_long_the_set_is_cached(
    external_settings: Callable[..., Settings], jwks: JwksServer
) -> None:
    clock = Monotonic()
    key = signing_key()
    jwks.publish(key)
    jwks.cache_control = "public, max-age=60"
    verifier = jwks_verifier(jwks.url, ISSUER, clock)
    async with serve(external_settings(), ExternalTokensOverride(verifier)) as (client, _):
        headers = auth(mint(key, "EdDSA", claims_for("cc")))
        await client.get("/api/auth/me", headers=headers)
        clock.now += 59
        await client.get("/api/auth/me", headers=headers)
        assert jwks.fetches == 1
        clock.now += 2
        await client.get("/api/auth/me", headers=headers)
        assert jwks.fetches == 2


@KEYS_ONLY
async def test_an_unknown_kid_refetches_at_most_once_per_30_seconds(
    external_settings: Callable[..., Settings], jwks: JwksServer
) -> None:
    clock = Monotonic()
    known, stranger = signing_key(), signing_key()
    jwks.publish(known)
    verifier = jwks_verifier(jwks.url, ISSUER, clock)
    async with serve(external_settings(), ExternalTokensOverride(verifier)) as (client, _):
        await client.get("/api/auth/me", headers=auth(mint(known, "EdDSA", claims_for("k"))))
        unknown = auth(mint(stranger, "EdDSA", claims_for("k")))
        for _ in range(3):
            refused = await client.get("/api/auth/me", headers=unknown)
            assert refused.status_code == 401
            assert problem_type(refused) == "invalid-token"
        assert jwks.fetches == 2  # the first unknown kid refetched; the next two did not
        clock.now += 29
        await client.get("/api/auth/me", headers=unknown)
        assert jwks.fetches == 2
        jwks.publish(known, stranger)
        clock.now += 1
        assert (await client.get("/api/auth/me", headers=unknown)).status_code == 200
        assert jwks.fetches == 3


def jwks_verifier(url: str, issuer: str, clock: Monotonic) -> ExternalTokenRouter:
    keys = JwksKeys(HttpJwksSource(url), clock=clock)
    return ExternalTokenRouter({issuer: JwksVerifier(keys, issuer=issuer, audience=issuer)})


def _b64(value: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def hs256_with(secret: bytes, claims: dict[str, Any], **header: Any) -> str:
    """HS256 by hand: joserfc refuses to use a public key's text as an HMAC secret."""
    import base64
    import json

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
    body = part(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(signature)}"


@KEYS_ONLY
async def test_tokens_that_break_a_rule_are_401(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    ed, rsa, ec = signing_key("EdDSA"), signing_key("RS256"), signing_key("ES256")
    jwks.publish(ed, rsa, ec)
    good = claims_for("rules")
    now = int(time.time())
    public_text = str(public_jwk(ed)["x"]).encode()
    rsa_public_pem = rsa.as_pem(private=False)
    bad_tokens = {
        # The algorithm must be the key's: an RSA signature under an EC key's kid.
        "alg not the key's type": mint(rsa, "RS256", good, kid=ec.kid),
        "ES256 named for an Ed25519 key": mint(ec, "ES256", good, kid=ed.kid),
        "alg none": unsigned(good, kid=ed.kid),
        "HS256 signed with the public key": hs256_with(public_text, good, kid=ed.kid),
        "HS256 signed with the RSA public key": hs256_with(rsa_public_pem, good, kid=rsa.kid),
        "jku header": mint(ed, "EdDSA", good, jku="http://evil.example/jwks"),
        "jwk header": mint(ed, "EdDSA", good, jwk=public_jwk(ed)),
        "x5u header": mint(ed, "EdDSA", good, x5u="http://evil.example/cert"),
        "wrong aud": mint(ed, "EdDSA", {**good, "aud": "http://other.example"}),
        "missing sub": mint(ed, "EdDSA", {k: v for k, v in good.items() if k != "sub"}),
        "empty sub": mint(ed, "EdDSA", {**good, "sub": ""}),
        "sub too long": mint(ed, "EdDSA", {**good, "sub": "s" * 256}),
        "NUL in sub": mint(ed, "EdDSA", {**good, "sub": "a\x00b"}),
        "missing iat": mint(ed, "EdDSA", {k: v for k, v in good.items() if k != "iat"}),
        "missing exp": mint(ed, "EdDSA", {k: v for k, v in good.items() if k != "exp"}),
        "nbf in the future": mint(ed, "EdDSA", {**good, "nbf": now + 300}),
        "iat in the future": mint(ed, "EdDSA", {**good, "iat": now + 300}),
        "iat before 1970": mint(ed, "EdDSA", {**good, "iat": -(10**12)}),
        "iat not a number": mint(ed, "EdDSA", {**good, "iat": "yesterday"}),
        "exp beyond year 9999": mint(ed, "EdDSA", {**good, "exp": 10**15}),
        "aud missing": mint(ed, "EdDSA", {k: v for k, v in good.items() if k != "aud"}),
        "sub not a string": mint(ed, "EdDSA", {**good, "sub": 12345}),
        "unknown kid": mint(signing_key(), "EdDSA", good),
        "no kid": mint(ed, "EdDSA", good, kid=None),
        "tampered": mint(ed, "EdDSA", good)[:-4] + "AAAA",
        # JSON nested deeper than a parser recurses: still only a bad token.
        "deeply nested payload": ".".join(
            [mint(ed, "EdDSA", good).split(".")[0], _b64(b"[" * 5000 + b"]" * 5000), "AAAA"]
        ),
        "deeply nested header": ".".join(
            [_b64(b"[" * 5000 + b"]" * 5000), mint(ed, "EdDSA", good).split(".")[1], "AAAA"]
        ),
    }
    for reason, token in bad_tokens.items():
        response = await client.get("/api/auth/me", headers=auth(token))
        assert response.status_code == 401, reason
        assert problem_type(response) == "invalid-token", reason
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


@KEYS_ONLY
async def test_wrong_issuer_is_401_whoever_signed_it(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    for issuer in ("http://localhost:3001", "todo-api", "http://localhost:3000/"):
        token = mint(key, "EdDSA", claims_for("x", issuer=issuer, aud=ISSUER))
        response = await client.get("/api/auth/me", headers=auth(token))
        assert response.status_code == 401, issuer
        assert problem_type(response) == "invalid-token"


@KEYS_ONLY
async def test_an_expired_external_token_is_token_expired(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    now = int(time.time())
    token = mint(key, "EdDSA", claims_for("late", iat=now - 1000, exp=now - 60))
    response = await client.get("/api/auth/me", headers=auth(token))
    assert response.status_code == 401
    assert problem_type(response) == "token-expired"
    assert 'error_description="expired"' in response.headers["www-authenticate"]
    # Past exp but otherwise invalid is not "expired".
    other = mint(key, "EdDSA", claims_for("late", iat=now - 1000, exp=now - 60, aud="x"))
    assert problem_type(await client.get("/api/auth/me", headers=auth(other))) == "invalid-token"


@KEYS_ONLY
async def test_with_the_jwks_down_cached_keys_still_work(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    headers = auth(mint(key, "EdDSA", claims_for("cached")))
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    jwks.status = 500
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200


@KEYS_ONLY
async def test_stale_keys_serve_while_the_jwks_is_down_for_up_to_24_hours(
    external_settings: Callable[..., Settings], jwks: JwksServer
) -> None:
    clock = Monotonic()
    key = signing_key()
    jwks.publish(key)
    verifier = jwks_verifier(jwks.url, ISSUER, clock)
    async with serve(external_settings(), ExternalTokensOverride(verifier)) as (client, _):
        headers = auth(mint(key, "EdDSA", claims_for("stale")))
        assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
        jwks.status = 503
        clock.now += 601  # stale: a refresh is tried and fails; the cached key serves
        assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
        assert jwks.fetches == 2
        clock.now += 10  # a failed refresh is not retried on every request
        assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
        assert jwks.fetches == 2
        clock.now = 1000 + 24 * 3600 + 1  # the keys are a day old: nothing usable is left
        gone = await client.get("/api/auth/me", headers=headers)
        assert gone.status_code == 503
        assert int(gone.headers["retry-after"]) > 0


@KEYS_ONLY
async def test_with_the_jwks_unreachable_and_nothing_cached_the_answer_is_503(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(external_jwt_issuer=ISSUER, external_jwks_url=unused_port_url())
    key = signing_key()
    async with serve(settings) as (client, _):
        response = await client.get(
            "/api/auth/me", headers=auth(mint(key, "EdDSA", claims_for("z")))
        )
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) > 0
        # Our own tokens do not depend on the front end.
        assert (await client.get("/api/auth/me", headers=bearer(await register(client)))).is_success


@KEYS_ONLY
async def test_a_jwks_that_answers_with_no_usable_key_is_401(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.keys = [{"kty": "oct", "k": "c2VjcmV0", "kid": key.kid}]  # a symmetric key: never
    response = await client.get("/api/auth/me", headers=auth(mint(key, "EdDSA", claims_for("o"))))
    assert response.status_code == 401


async def test_fifty_concurrent_first_requests_of_a_subject_make_one_user(
    external_settings: Callable[..., Settings], jwks: JwksServer, storage: str
) -> None:
    key = signing_key()
    jwks.publish(key)
    headers = auth(mint(key, "EdDSA", claims_for("crowd")))
    async with serve(external_settings()) as (client, container):
        answers = await asyncio.gather(
            *(client.get("/api/auth/me", headers=headers) for _ in range(50))
        )
        assert {a.status_code for a in answers} == {200}
        assert len({a.json()["id"] for a in answers}) == 1
        if storage == "postgres":
            engine = await container.get(AsyncEngine)
            async with engine.connect() as connection:
                users = await connection.scalar(sa.text("SELECT count(*) FROM users"))
                links = await connection.scalar(sa.text("SELECT count(*) FROM external_identities"))
            assert (users, links) == (1, 1)


async def test_the_same_subject_of_two_issuers_are_two_users(
    external_settings: Callable[..., Settings], jwks: JwksServer
) -> None:
    second_issuer = "https://other-front.example"
    key = signing_key()
    jwks.publish(key)
    both = ExternalTokenRouter(
        {
            issuer: JwksVerifier(JwksKeys(HttpJwksSource(jwks.url)), issuer=issuer, audience=issuer)
            for issuer in (ISSUER, second_issuer)
        }
    )
    async with serve(external_settings(), ExternalTokensOverride(both)) as (client, _):
        first = auth(mint(key, "EdDSA", claims_for("shared-sub")))
        second = auth(mint(key, "EdDSA", claims_for("shared-sub", issuer=second_issuer)))
        created = await client.post("/api/tasks", json={"title": "first's"}, headers=first)
        assert created.status_code == 201
        task = created.json()["id"]
        assert (await client.get("/api/tasks", headers=second)).json() == []
        assert (await client.get(f"/api/tasks/{task}", headers=second)).status_code == 404
        me1 = (await client.get("/api/auth/me", headers=first)).json()
        me2 = (await client.get("/api/auth/me", headers=second)).json()
        assert me1["id"] != me2["id"]
        assert (await client.get("/api/shared-sub/tasks", headers=second)).json() == []


async def test_the_user_scoped_alias_takes_the_sub_or_the_local_id(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    headers = auth(mint(key, "EdDSA", claims_for("user_9aZ")))
    local_id = (await client.get("/api/auth/me", headers=headers)).json()["id"]
    created = await client.post("/api/user_9aZ/tasks", json={"title": "via sub"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/user_9aZ/tasks/{created.json()['id']}"
    for user_id in ("user_9aZ", local_id):
        listed = await client.get(f"/api/{user_id}/tasks", headers=headers)
        assert [t["title"] for t in listed.json()] == ["via sub"], user_id
        assert (await client.get(f"/api/v1/{user_id}/tasks", headers=headers)).status_code == 200
    someone = await register(client)
    for other in ("user_9aZZ", "USER_9AZ", someone["user"]["id"], "not-a-uuid"):
        refused = await client.get(f"/api/{other}/tasks", headers=headers)
        assert refused.status_code == 403, other
    assert (await client.get("/api/user_9aZ/tasks")).status_code == 401
    # The service's own callers keep their rules: a malformed id is a 404.
    assert (await client.get("/api/not-a-uuid/tasks", headers=bearer(someone))).status_code == 404
    mine = await client.get(f"/api/{someone['user']['id']}/tasks", headers=bearer(someone))
    assert mine.status_code == 200


async def test_logout_all_makes_external_tokens_issued_until_then_fail(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    now = int(time.time())
    older = auth(mint(key, "EdDSA", claims_for("leaver", iat=now - 60)))
    current = auth(mint(key, "EdDSA", claims_for("leaver", iat=now)))
    await client.post("/api/tasks", json={"title": "kept"}, headers=current)

    assert (await client.post("/api/auth/logout-all", headers=current)).status_code == 204
    for headers in (older, current):
        refused = await client.get("/api/tasks", headers=headers)
        assert refused.status_code == 401
        assert problem_type(refused) == "session-ended"
    # A token the front end mints after the logout works, and the account is the same.
    later = auth(mint(key, "EdDSA", claims_for("leaver", iat=now + 2)))
    listed = await client.get("/api/tasks", headers=later)
    assert [t["title"] for t in listed.json()] == ["kept"]


async def test_logout_with_an_external_token_does_the_same(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    now = int(time.time())
    token = auth(mint(key, "EdDSA", claims_for("one", iat=now)))
    assert (await client.get("/api/auth/me", headers=token)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=token)).status_code == 204
    assert (await client.get("/api/auth/me", headers=token)).status_code == 401
    assert (await client.post("/api/auth/logout", headers=token)).status_code == 401
    later = auth(mint(key, "EdDSA", claims_for("one", iat=now + 2)))
    assert (await client.get("/api/auth/me", headers=later)).status_code == 200


async def test_no_refresh_token_is_issued_or_taken_for_external_users(
    client: httpx.AsyncClient, jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    token = mint(key, "EdDSA", claims_for("nr"))
    refused = await client.post("/api/auth/refresh", json={"refresh_token": token})
    assert refused.status_code == 401
    # No password either: whatever is tried as its current password is wrong.
    headers = auth(token)
    attempts = {
        "password": client.post(
            "/api/auth/password",
            json={"current_password": "anything at all 1", "new_password": "a long new one 9"},
            headers=headers,
        ),
        "email": client.patch(
            "/api/auth/me",
            json={"email": "new@example.com", "current_password": "anything at all 1"},
            headers=headers,
        ),
        "delete": client.request(
            "DELETE", "/api/auth/me", json={"password": "anything at all 1"}, headers=headers
        ),
    }
    for name, attempt in attempts.items():
        refused = await attempt
        assert refused.status_code == 401, name
        assert problem_type(refused) == "invalid-credentials", name
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200


async def test_shared_secret_mode_takes_hs256_from_the_issuer_and_ours(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(external_jwt_issuer=ISSUER, external_jwt_shared_secret=True)
    secret = OctKey.import_key(TEST_SECRET.encode())
    async with serve(settings) as (client, _):
        theirs = auth(mint(secret, "HS256", claims_for("hs")))
        me = await client.get("/api/auth/me", headers=theirs)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "hs@example.com"
        ours = await register(client)
        assert (await client.get("/api/auth/me", headers=bearer(ours))).status_code == 200
        for issuer in ("http://elsewhere.example", "todo-api"):
            forged = mint(secret, "HS256", claims_for("hs", issuer=issuer, aud=ISSUER))
            refused = await client.get("/api/auth/me", headers=auth(forged))
            assert refused.status_code == 401, issuer
        wrong_secret = OctKey.import_key(b"another-secret-that-is-long-enough-0123456789")
        refused = await client.get(
            "/api/auth/me", headers=auth(mint(wrong_secret, "HS256", claims_for("hs")))
        )
        assert refused.status_code == 401
        # An asymmetric token is not accepted in this mode: no JWKS is fetched.
        key = signing_key()
        refused = await client.get(
            "/api/auth/me", headers=auth(mint(key, "EdDSA", claims_for("hs")))
        )
        assert refused.status_code == 401


@KEYS_ONLY
async def test_without_an_external_issuer_external_tokens_are_401(
    settings_for: Callable[..., Settings],
) -> None:
    async with serve(settings_for()) as (client, _):
        key = signing_key()
        response = await client.get(
            "/api/auth/me", headers=auth(mint(key, "EdDSA", claims_for("none")))
        )
        assert response.status_code == 401
        assert problem_type(response) == "invalid-token"


@pytest.mark.parametrize("storage", ["postgres"])
async def test_an_external_callers_request_is_one_statement_once_linked(
    external_settings: Callable[..., Settings], jwks: JwksServer, storage: str
) -> None:
    key = signing_key()
    jwks.publish(key)
    headers = auth(mint(key, "EdDSA", claims_for("counted")))
    async with serve(external_settings()) as (client, container):
        engine = await container.get(AsyncEngine)

        async def statements_of(request: Awaitable[httpx.Response]) -> list[str]:
            with counting_statements(engine) as sent:
                response = await request
                await asyncio.sleep(0)  # query loggers are called soon, not at once
                await asyncio.sleep(0)
            assert response.is_success, response.text
            return sent

        first = await statements_of(client.get("/api/auth/me", headers=headers))
        assert len(first) == 2  # the link, made once per process, then the request's own
        assert "external_identities" in first[0]
        created = await client.post("/api/tasks", json={"title": "t"}, headers=headers)
        task = f"/api/tasks/{created.json()['id']}"
        requests = {
            "me": client.get("/api/auth/me", headers=headers),
            "create": client.post("/api/tasks", json={"title": "u"}, headers=headers),
            "get": client.get(task, headers=headers),
            "list": client.get("/api/tasks", headers=headers),
            "patch": client.patch(task, json={"starred": True}, headers=headers),
            "alias": client.get("/api/counted/tasks", headers=headers),
            "delete": client.delete(task, headers=headers),
            "logout-all": client.post("/api/auth/logout-all", headers=headers),
        }
        for name, request in requests.items():
            sent = await statements_of(request)
            assert len(sent) == 1, (name, sent)
            assert "not_before" in sent[0], name  # the logout check is in that statement


async def test_quotas_and_limits_hold_for_external_users(
    external_settings: Callable[..., Settings], jwks: JwksServer
) -> None:
    key = signing_key()
    jwks.publish(key)
    settings = external_settings(max_tasks_per_user=1, api_rate_limit="3/minute")
    async with serve(settings) as (client, _):
        headers = auth(mint(key, "EdDSA", claims_for("quota")))
        first = await client.post("/api/tasks", json={"title": "one"}, headers=headers)
        assert first.status_code == 201
        second = await client.post("/api/tasks", json={"title": "two"}, headers=headers)
        assert second.status_code == 409
        assert problem_type(second) == "quota-exceeded"
        assert (await client.get("/api/tasks", headers=headers)).status_code == 200
        limited = await client.get("/api/tasks", headers=headers)
        assert limited.status_code == 429
        # The limit is the user's: another external user is not held back by it.
        other = auth(mint(key, "EdDSA", claims_for("quota-2")))
        assert (await client.get("/api/tasks", headers=other)).status_code == 200
