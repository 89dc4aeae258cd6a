"""ASVS 5.0 V2.2 (input validation, canonical forms): emails are compared with their domain in
its IDNA ASCII form after UTS #46 mapping, so ``a@exämple.com``, ``a@xn--exmple-cua.com`` and
``a@EXÄMPLE.com`` are one account, on every storage; stored keys are migrated to that rule, and
the migration refuses to merge two existing accounts. No input crashes the comparison."""

from __future__ import annotations

import asyncio
import json
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import idna
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from email_validator import EmailNotValidError, validate_email

from adapters.postgres.engine import create_engine, database_target
from domain.users import check_email, email_key
from entrypoints.readiness import alembic_config
from entrypoints.settings import Settings
from tests.support.app import PASSWORD, make_settings, serve
from tests.support.database import throwaway_database

FORMS = (
    "exämple.com",
    "xn--exmple-cua.com",
    "EXÄMPLE.com",
    "ＥＸÄＭＰＬＥ.com",
    "exa\u0308mple.com",
)


@pytest.fixture(params=["postgres", "memory"])
def settings(request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("clean_database") if request.param == "postgres" else None
    return make_settings(request.param, url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as client:
        yield client


async def post_json(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> httpx.Response:
    """JSON with ``\\u`` escapes, so that a lone surrogate can be sent."""
    content = json.dumps(body, ensure_ascii=True)
    return await client.post(path, content=content, headers={"content-type": "application/json"})


# The rule.


def test_v2_2_idn_forms_of_a_domain_have_one_key() -> None:
    keys = {email_key(f"Ada@{domain}") for domain in FORMS}
    assert keys == {"ada@xn--exmple-cua.com"}
    # The local part keeps its rule: NFC, then case-folded.
    assert email_key("A\u0308da@example.com") == email_key("äDA@EXAMPLE.COM") == "äda@example.com"
    # IDNA2008 (non-transitional, as email-validator): ß is its own letter in a domain.
    assert email_key("a@straße.de") == "a@xn--strae-oqa.de" != email_key("a@strasse.de")


@pytest.mark.parametrize(
    "email",
    [
        "Ada@Example.COM",
        " ada@EXAMPLE.com ",
        "a@XN--EXMPLE-CUA.COM",
        "a@ex_ample.com",
        "a@xn--zz.com",
        "a@" + "x" * 80 + ".com",
        "a@b@c.com",
        "no-at-sign",
        "a@",
        "a@.",
        "a@[127.0.0.1]",
    ],
)
def test_v2_2_an_ascii_email_keeps_its_key(email: str) -> None:
    """ASCII emails compare as before (lower case), whether or not IDNA accepts the domain: the
    migration leaves their stored keys alone."""
    local, at, domain = email.strip().rpartition("@")
    try:
        via_idna = f"{local.lower()}@{idna.encode(domain, uts46=True).decode()}"
    except idna.IDNAError:
        via_idna = email.strip().lower()
    if not at:
        via_idna = email.strip().lower()
    assert email_key(email) == email.strip().lower() == via_idna


@pytest.mark.parametrize(
    "email",
    [
        "a@ex\ud800ample.com",  # a lone surrogate
        "a@exä\x00mple.com",
        "a@ä_b.com",
        "a@" + "ä" * 300 + ".com",
        "a@" + "ä." * 200 + "com",
        "ä@",
        "ä@@",
        "@ä",
        "ä" * 100_000 + "@" + "ä" * 100_000,
        "a@xn--ä.com",
        "a@😀.com",
        "a@\u0300.com",
    ],
)
def test_v2_2_a_domain_idna_cannot_encode_never_breaks_the_comparison(email: str) -> None:
    key = email_key(email)
    assert key == email_key(email.upper().lower())  # stable, and a plain string
    assert isinstance(key, str)


def test_v2_2_every_valid_email_has_the_ascii_domain_email_validator_gives() -> None:
    for domain in (
        *FORMS,
        "пример.рф",
        "ПРИМЕР.РФ",
        "例え.テスト",
        "a。b。com",
    ):
        email = f"Ada@{domain}"
        cleaned, error = check_email(email)
        assert error is None, (email, error)
        try:
            validated = validate_email(cleaned, check_deliverability=False)
        except EmailNotValidError:  # pragma: no cover - check_email accepted it
            pytest.fail(email)
        assert email_key(cleaned).rpartition("@")[2] == validated.ascii_domain


# Over HTTP, on both storages.


async def test_v2_2_one_account_whatever_form_the_domain_takes(
    client: httpx.AsyncClient,
) -> None:
    local = f"ada-{uuid.uuid4().hex[:8]}"
    first = await client.post(
        "/api/auth/register", json={"email": f"{local}@exämple.com", "password": PASSWORD}
    )
    assert first.status_code == 201, first.text
    assert first.json()["user"]["email"] == f"{local}@exämple.com"  # returned as registered

    for domain in FORMS[1:]:
        again = await client.post(
            "/api/auth/register",
            json={"email": f"{local.upper()}@{domain}", "password": PASSWORD},
        )
        assert again.status_code == 409, (domain, again.text)
        assert again.headers["content-type"].startswith("application/problem+json")

    for domain in FORMS:
        login = await client.post(
            "/api/auth/login", json={"email": f"{local}@{domain}", "password": PASSWORD}
        )
        assert login.status_code == 200, (domain, login.text)
        assert login.json()["user"]["id"] == first.json()["user"]["id"]
        assert login.json()["user"]["email"] == f"{local}@exämple.com"


async def test_v2_2_an_ascii_registration_is_found_by_its_unicode_forms(
    client: httpx.AsyncClient,
) -> None:
    local = f"bo-{uuid.uuid4().hex[:8]}"
    first = await client.post(
        "/api/auth/register", json={"email": f"{local}@XN--EXMPLE-CUA.com", "password": PASSWORD}
    )
    assert first.status_code == 201, first.text
    taken = await client.post(
        "/api/auth/register", json={"email": f"{local}@exämple.com", "password": PASSWORD}
    )
    assert taken.status_code == 409
    login = await client.post(
        "/api/auth/login", json={"email": f"{local}@EXÄMPLE.com", "password": PASSWORD}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    "email",
    [
        "a@ex_ämple.com",
        "a@xn--zz.com",
        "a@" + "ä" * 300 + ".com",
        "a@😀.com",
        "a@[127.0.0.1]",
        "a@exämple..com",
        "a\ud800@exämple.com",
    ],
)
async def test_v2_2_emails_idna_refuses_are_a_422_or_a_401_never_a_500(
    client: httpx.AsyncClient, email: str
) -> None:
    account = {"email": email, "password": PASSWORD}
    registered = await post_json(client, "/api/auth/register", account)
    assert registered.status_code in (400, 422), registered.text
    login = await post_json(client, "/api/auth/login", account)
    assert login.status_code in (400, 401, 422), login.text


# The data migration, on a real database.


def _idn_revision() -> tuple[str, str]:
    """The migration that re-keys emails, and the one before it, found by file name so that a
    renumbering does not break this test."""
    script = ScriptDirectory.from_config(alembic_config())
    for revision in script.walk_revisions():
        if str(revision.path).endswith("_idn_email_keys.py"):
            assert isinstance(revision.down_revision, str)
            return revision.revision, revision.down_revision
    raise AssertionError("no *_idn_email_keys migration")


IDN_REVISION, BEFORE_IDN = _idn_revision()
# Full-width letters: case-folding keeps them, UTS #46 maps them to ASCII.
FULLWIDTH_STRASSE = "a@" + "".join(chr(ord(c) + 0xFEE0) for c in "strasse") + ".de"


@pytest.fixture
def database_before_idn(postgres_server_url: str) -> Iterator[str]:
    with throwaway_database(postgres_server_url) as url:
        command.upgrade(alembic_config(url), BEFORE_IDN)
        yield url


def _old_key(email: str) -> str:
    """The rule the stored keys were made by until this migration."""
    return unicodedata.normalize("NFC", email).strip().casefold()


async def _sql(url: str, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(database_target(url), pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


def _add_accounts(url: str, emails: list[str]) -> dict[str, uuid.UUID]:
    ids = {email: uuid.uuid4() for email in emails}
    for email, account in ids.items():
        asyncio.run(
            _sql(
                url,
                "INSERT INTO users (id, email, email_key, password_hash, created_at) "
                "VALUES (:id, :email, :key, 'x', now())",
                id=account,
                email=email,
                key=_old_key(email),
            )
        )
    return ids


def _keys(url: str) -> dict[uuid.UUID, str]:
    return {row.id: row.email_key for row in asyncio.run(_sql(url, "SELECT * FROM users"))}


def _version(url: str) -> str:
    return str(asyncio.run(_sql(url, "SELECT version_num FROM alembic_version"))[0][0])


def test_v2_2_the_migration_rekeys_stored_emails_to_the_idn_rule(database_before_idn: str) -> None:
    url = database_before_idn
    emails = [
        "Ada@EXÄMPLE.com",  # an IDN domain: re-keyed
        "ascii@Example.COM",  # ASCII: untouched
        "Ü@пример.рф",  # a local part outside ASCII too
        "a@straße.de",  # its old key was ASCII ("strasse"): re-keyed as well
        FULLWIDTH_STRASSE,  # its new key is the old key of the line above: both move at once
        "broken@ex_ämple.com",  # IDNA refuses the domain: case-folded, as before
    ]
    ids = _add_accounts(url, emails)
    before = _keys(url)

    command.upgrade(alembic_config(url), IDN_REVISION)
    after = _keys(url)
    assert after[ids["Ada@EXÄMPLE.com"]] == "ada@xn--exmple-cua.com"
    assert after[ids["ascii@Example.COM"]] == before[ids["ascii@Example.COM"]]
    assert after[ids["Ü@пример.рф"]] == "ü@xn--e1afmkfd.xn--p1ai"
    assert after[ids["a@straße.de"]] == "a@xn--strae-oqa.de"
    assert after[ids[FULLWIDTH_STRASSE]] == "a@strasse.de"
    assert after[ids["broken@ex_ämple.com"]] == "broken@ex_ämple.com"
    assert all(after[ids[email]] == email_key(email) for email in emails)  # the app's rule
    assert _version(url) == IDN_REVISION

    # Down again, the keys are the old rule's; and up to the newest revision once more.
    command.downgrade(alembic_config(url), BEFORE_IDN)
    assert _keys(url) == before
    command.upgrade(alembic_config(url), "head")
    assert _keys(url) == after


def test_v2_2_the_migration_refuses_to_merge_two_accounts(database_before_idn: str) -> None:
    url = database_before_idn
    ids = _add_accounts(
        url, ["ada@exämple.com", "ADA@xn--exmple-cua.com", "bo@exämple.com", "bo@ＥＸÄＭＰＬＥ.com"]
    )
    before = _keys(url)
    with pytest.raises(RuntimeError, match="refusing to migrate") as refused:
        command.upgrade(alembic_config(url), IDN_REVISION)
    message = str(refused.value)
    assert "2 group(s)" in message
    assert all(str(account) in message for account in ids.values())  # ids, never emails
    assert "@" not in message
    assert _keys(url) == before  # nothing changed
    assert _version(url) == BEFORE_IDN


def test_v2_2_the_migration_does_nothing_without_idn_emails(database_before_idn: str) -> None:
    url = database_before_idn
    _add_accounts(url, ["one@example.com", "TWO@EXAMPLE.COM"])
    before = _keys(url)
    command.upgrade(alembic_config(url), IDN_REVISION)
    assert _keys(url) == before
