"""Password reset by email over HTTP (API.md, "Accounts and sessions"): a real SMTP server in
the test process receives the mail and its link's token resets the password; the development
outbox; answers that never tell whether an email is registered; limits; the production 404.
Every test runs on PostgreSQL and on the in-memory storage, except those that look into tables.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import AppFactory
from tests.api.test_auth import (
    assert_422,
    assert_problem,
    assert_session_ended,
    assert_unauthorized,
    logged_in,
    login,
)
from tests.api.test_request_path import app_on, sent_by
from tests.support.app import bearer, register, unique_email

RESET = "/api/auth/password-reset"
CONFIRM = "/api/auth/password-reset/confirm"
NEW_PASSWORD = "a brand new passphrase"
PUBLIC_URL = "https://todo.example/app"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/#/reset\?token=(?P<token>[A-Za-z0-9_-]+)")


class Inbox:
    """An SMTP server's handler: every message it accepted."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [parse(e.content) for e in self.envelopes if isinstance(e.content, bytes)]


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on localhost (in a thread of the test process) and its URL."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


async def eventually(check: Callable[[], Awaitable[bool] | bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while True:
        outcome = check()
        if await outcome if not isinstance(outcome, bool) else outcome:
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def outbox(data_dir: Path) -> list[EmailMessage]:
    return [parse(path.read_bytes()) for path in sorted((data_dir / "outbox").glob("*.eml"))]


def body_of(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, message
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def token_in(message: EmailMessage) -> str:
    link = LINK.search(body_of(message, "plain"))
    assert link is not None, body_of(message, "plain")
    return link["token"]


async def confirm(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(CONFIRM, json={"token": token, "new_password": password})


# -- the whole flow --------------------------------------------------------------------------


async def test_a_real_smtp_server_receives_the_link_and_its_token_resets_the_password(
    app_with: AppFactory, smtp_server: tuple[Inbox, str]
) -> None:
    inbox, url = smtp_server
    settings = {
        "smtp_url": url,
        "public_url": PUBLIC_URL + "/",
        "mail_from": "Todo <t@todo.example>",
    }
    async with app_with(**settings) as client:
        email = unique_email()
        pair = await register(client, email, name="<b>Ada</b> & co")
        other = await logged_in(client, email)
        response = await client.post(RESET, json={"email": email.upper()})
        assert response.status_code == 202, response.text
        await eventually(lambda: len(inbox.envelopes) == 1)
        assert inbox.envelopes[0].rcpt_tos == [email]
        assert inbox.envelopes[0].mail_from == "t@todo.example"
        (message,) = inbox.messages()
        assert message["To"] == email
        assert message["Subject"] == "Reset your Todo password"
        token = token_in(message)
        assert len(token) >= 43  # 256 random bits, base64url
        html = body_of(message, "html")
        assert f'href="{PUBLIC_URL}/#/reset?token={token}"' in html
        assert "&lt;b&gt;Ada&lt;/b&gt; &amp; co" in html  # what is inserted is escaped
        assert "<b>Ada</b>" not in html
        assert "30 minutes" in body_of(message, "plain")

        response = await confirm(client, token)
        assert response.status_code == 204, response.text
        for session in (pair, other):  # every session of the account ends
            await assert_session_ended(client, session)
        assert_unauthorized(await login(client, email), "invalid-credentials")
        assert (await login(client, email, NEW_PASSWORD)).status_code == 200
        used = assert_problem(await confirm(client, token, "yet another passphrase"), 400)
        assert used["type"] == "https://todo.dev/problems/invalid-reset-token"
        assert (await login(client, email, NEW_PASSWORD)).status_code == 200


async def test_an_unknown_email_sends_nothing_and_answers_identically(
    app_with: AppFactory, smtp_server: tuple[Inbox, str]
) -> None:
    inbox, url = smtp_server
    async with app_with(smtp_url=url, public_url=PUBLIC_URL) as client:
        email = unique_email("known")
        await register(client, email)
        unknown = await client.post(RESET, json={"email": unique_email("unknown")})
        known = await client.post(RESET, json={"email": email})
        await eventually(lambda: len(inbox.envelopes) == 1)
        await asyncio.sleep(0.2)  # time for a stray second mail to show up
        assert [m["To"] for m in inbox.messages()] == [email]
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert set(known.json()) == {"message"}
    varying = {"x-request-id", "content-length"}
    assert {k: v for k, v in unknown.headers.items() if k not in varying} == {
        k: v for k, v in known.headers.items() if k not in varying
    }


async def test_the_development_outbox_gets_the_mail_and_the_log_never_does(
    app_with: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with app_with(data_dir=str(tmp_path), public_url=PUBLIC_URL) as client:
        email = unique_email()
        pair = await register(client, email, name="Zoë Ångström")
        assert (await client.post(RESET, json={"email": email})).status_code == 202
        await eventually(lambda: len(outbox(tmp_path)) == 1)
        (message,) = outbox(tmp_path)
        assert message["To"] == email
        token = token_in(message)
        (path,) = (tmp_path / "outbox").glob("*.eml")
        assert path.stat().st_mode & 0o077 == 0  # the owner's only: it holds a live link
        # The link is whole in the raw file too (no quoted-printable line breaks).
        raw = LINK.search(path.read_text(encoding="utf-8"))
        assert raw is not None
        assert raw["token"] == token
        assert (await confirm(client, token)).status_code == 204
        await assert_session_ended(client, pair)
    assert token not in caplog.text
    assert "/#/reset" not in caplog.text


async def test_a_registered_and_an_unknown_email_cost_the_same_statement(
    clean_database: str,
) -> None:
    """The same work either way: one statement, which stores a token only for an account."""
    async with app_on(clean_database) as (client, engine, _):
        email = unique_email()
        await register(client, email)
        known, known_sql = await sent_by(engine, client.post(RESET, json={"email": email}))
        unknown, unknown_sql = await sent_by(
            engine, client.post(RESET, json={"email": unique_email()})
        )
    assert known.status_code == unknown.status_code == 202
    assert len(known_sql) == 1
    assert known_sql == unknown_sql


# -- tokens ----------------------------------------------------------------------------------


async def test_invalid_tokens_are_400_and_change_nothing(client: httpx.AsyncClient) -> None:
    email = unique_email()
    pair = await register(client, email)
    for token in ("", "x", "A" * 43, "A" * 42 + "!", "A" * 10_000, pair["refresh_token"]):
        body = assert_problem(await confirm(client, token), 400)
        assert body["type"] == "https://todo.dev/problems/invalid-reset-token"
    assert (await login(client, email)).status_code == 200


async def test_the_password_policy_is_422_and_keeps_the_token(
    app_with: AppFactory, tmp_path: Path
) -> None:
    async with app_with(data_dir=str(tmp_path)) as client:
        email = unique_email()
        await register(client, email)
        await client.post(RESET, json={"email": email})
        await eventually(lambda: len(outbox(tmp_path)) == 1)
        token = token_in_any(outbox(tmp_path)[0])
        for bad in ("short", "x" * 129, "password123", email.upper()):
            assert_422(await confirm(client, token, bad), "new_password")
        # Policy before the token: a bad password with a bad token is the 422 too.
        assert_422(await confirm(client, "A" * 43, "short"), "new_password")
        missing = await client.post(CONFIRM, json={})
        assert {e["field"] for e in assert_422(missing, "token")["errors"]} == {
            "token",
            "new_password",
        }
        assert (await confirm(client, token)).status_code == 204


async def test_a_reset_lifts_the_login_failure_block(app_with: AppFactory, tmp_path: Path) -> None:
    async with app_with(data_dir=str(tmp_path), login_failure_limit="2/hour") as client:
        email = unique_email()
        await register(client, email)
        for _ in range(2):
            assert_unauthorized(await login(client, email, "a wrong guess"), "invalid-credentials")
        assert_problem(await login(client, email, NEW_PASSWORD), 429)
        await client.post(RESET, json={"email": email})
        await eventually(lambda: len(outbox(tmp_path)) == 1)
        assert (await confirm(client, token_in_any(outbox(tmp_path)[0]))).status_code == 204
        assert (await login(client, email, NEW_PASSWORD)).status_code == 200


def token_in_any(message: EmailMessage) -> str:
    """The token, whatever ``PUBLIC_URL`` the link starts with."""
    found = re.search(r"/#/reset\?token=([A-Za-z0-9_-]+)", body_of(message, "plain"))
    assert found is not None
    return found[1]


async def test_the_link_defaults_to_the_servers_own_address(
    app_with: AppFactory, tmp_path: Path
) -> None:
    async with app_with(data_dir=str(tmp_path), host="127.0.0.1", port=8123) as client:
        email = unique_email()
        await register(client, email)
        await client.post(RESET, json={"email": email})
        await eventually(lambda: len(outbox(tmp_path)) == 1)
        plain = body_of(outbox(tmp_path)[0], "plain")
        assert "http://127.0.0.1:8123/#/reset?token=" in plain


async def test_a_new_password_ends_the_other_pending_tokens(
    app_with: AppFactory, tmp_path: Path
) -> None:
    async with app_with(data_dir=str(tmp_path)) as client:
        email = unique_email()
        await register(client, email)
        for _ in range(2):
            await client.post(RESET, json={"email": email})
        await eventually(lambda: len(outbox(tmp_path)) == 2)
        first, second = (token_in_any(m) for m in outbox(tmp_path))
        assert first != second
        assert (await confirm(client, second)).status_code == 204
        assert_problem(await confirm(client, first, "yet another passphrase"), 400)


@pytest.mark.parametrize("storage", ["postgres"])
async def test_an_expired_token_is_400_and_only_a_hash_is_stored(
    app_with: AppFactory, tmp_path: Path, engine: AsyncEngine
) -> None:
    async with app_with(data_dir=str(tmp_path)) as client:
        email = unique_email()
        await register(client, email)
        await client.post(RESET, json={"email": email})
        await eventually(lambda: len(outbox(tmp_path)) == 1)
        token = token_in_any(outbox(tmp_path)[0])
        async with engine.begin() as connection:
            row = (
                await connection.execute(
                    sa.text(
                        "SELECT token_hash, expires_at - created_at AS valid FROM password_resets"
                    )
                )
            ).one()
            assert token.encode() not in bytes(row.token_hash)
            assert row.valid.total_seconds() == 30 * 60
            await connection.execute(
                sa.text("UPDATE password_resets SET expires_at = now() - interval '1 second'")
            )
        body = assert_problem(await confirm(client, token), 400)
        assert body["type"] == "https://todo.dev/problems/invalid-reset-token"
        assert (await login(client, email)).status_code == 200


# -- limits ----------------------------------------------------------------------------------


async def test_three_requests_per_email_an_hour(app_with: AppFactory, tmp_path: Path) -> None:
    async with app_with(data_dir=str(tmp_path)) as client:
        email = unique_email()
        await register(client, email)
        unknown = unique_email("unknown")
        for address in (email, email.upper(), f" {email} ", unknown, unknown, unknown):
            response = await client.post(RESET, json={"email": address})
            assert response.status_code == 202, response.text
        for address in (email, unknown):  # a registered email and an unknown one alike
            limited = assert_problem(await client.post(RESET, json={"email": address}), 429)
            assert limited["type"] == "https://todo.dev/problems/rate-limited"
        assert (await client.post(RESET, json={"email": unique_email()})).status_code == 202
        await eventually(lambda: len(outbox(tmp_path)) == 3)


async def test_reset_requests_count_against_the_auth_rate_limit(app_with: AppFactory) -> None:
    async with app_with(auth_rate_limit="2/minute", api_rate_limit="3/minute") as client:
        for _ in range(2):
            response = await client.post(RESET, json={"email": unique_email()})
            assert response.status_code == 202, response.text
        limited = await client.post(RESET, json={"email": unique_email()})
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        # Confirming hashes a password only for a live token: it counts per client address
        # against API_RATE_LIMIT, as /refresh does.
        for _ in range(3):
            assert_problem(await confirm(client, "A" * 43), 400)
        assert_problem(await confirm(client, "A" * 43), 429)


async def test_the_email_is_validated(client: httpx.AsyncClient) -> None:
    assert_422(await client.post(RESET, json={"email": "not an email"}), "email")
    both = await client.post(CONFIRM, json={"token": 5, "new_password": "short"})
    assert {e["field"] for e in assert_422(both, "token")["errors"]} == {"token", "new_password"}
    both = await client.post(RESET, json={"email": "not an email", "x": 1})
    assert {e["field"] for e in assert_422(both, "email")["errors"]} == {"email", "x"}
    assert_422(await client.post(RESET, json={}), "email")
    assert_422(await client.post(RESET, json={"email": "a@example.com", "x": 1}), "x")


# -- mail that cannot go out -----------------------------------------------------------------


async def test_a_refusing_mail_server_is_logged_without_the_link(
    app_with: AppFactory, smtp_server: tuple[Inbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, url = smtp_server
    inbox.refuse = True
    caplog.set_level(logging.INFO)
    async with app_with(smtp_url=url) as client:
        email = unique_email()
        await register(client, email)
        response = await client.post(RESET, json={"email": email})
        assert response.status_code == 202, response.text

        def logged() -> bool:
            return any(r.name == "todo.mail" for r in caplog.get_records("call"))

        await eventually(logged)
    (record,) = [r for r in caplog.get_records("call") if r.name == "todo.mail"]
    assert record.levelno == logging.ERROR
    assert "/#/reset" not in caplog.text
    assert "token=" not in caplog.text


async def test_a_mail_server_that_never_answers_does_not_hold_up_the_request(
    app_with: AppFactory,
) -> None:
    connections: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # accepted, and never a greeting

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with app_with(smtp_url=f"smtp://127.0.0.1:{port}") as client:
        email = unique_email()
        await register(client, email)
        started = time.monotonic()
        response = await client.post(RESET, json={"email": email})
        assert response.status_code == 202, response.text
        assert time.monotonic() - started < 1.0
        await eventually(lambda: len(connections) == 1)
        # Hang up, so the delivery fails now rather than at its timeout when the app stops.
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


# -- production without SMTP -----------------------------------------------------------------


async def test_production_without_smtp_has_no_reset_routes(app_with: AppFactory) -> None:
    async with app_with(app_env="production") as client:
        for path, body in ((RESET, {"email": "a@example.com"}), (CONFIRM, {})):
            response = await client.post(path, json=body)
            assert assert_problem(response, 404)["type"] == "https://todo.dev/problems/not-found"
            for method in ("GET", "PUT", "OPTIONS"):  # no method tells the paths exist
                assert_problem(await client.request(method, path), 404)


async def test_production_with_smtp_has_them(
    app_with: AppFactory, smtp_server: tuple[Inbox, str]
) -> None:
    _, url = smtp_server
    async with app_with(app_env="production", smtp_url=url) as client:
        response = await client.post(RESET, json={"email": unique_email()})
        assert response.status_code == 202, response.text
        assert_problem(await confirm(client, "A" * 43), 400)


async def test_reset_needs_no_token_and_ignores_one(client: httpx.AsyncClient) -> None:
    pair = await register(client)
    headers = {**bearer(pair), "Authorization": "Bearer garbage"}
    response = await client.post(RESET, json={"email": unique_email()}, headers=headers)
    assert response.status_code == 202, response.text
