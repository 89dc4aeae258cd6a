"""The mail adapters: SMTP against a real server in the test process (credentials and TLS from
the URL), messages from templates, and background delivery that is bounded and logs failures
without the message."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from adapters.mail.background import BackgroundAccountMail
from adapters.mail.messages import password_reset_message, reset_link
from adapters.mail.smtp import SmtpTransport, check_smtp_url
from domain.users import User

TOKEN = "tok_-en" * 6


class Recorder:
    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"p@ss:w0rd")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    """A plain SMTP server that offers a login (allowed without TLS, for the test)."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=recorder.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def message(to: str = "ada@example.com") -> EmailMessage:
    return password_reset_message(
        sender="Todo <todo@todo.example>",
        to=to,
        name="Ada",
        link=reset_link("https://todo.example", TOKEN),
        minutes=30,
    )


async def test_credentials_come_from_the_url(server: tuple[Recorder, int]) -> None:
    recorder, port = server
    transport = SmtpTransport(f"smtp://ada%40x:p%40ss%3Aw0rd@127.0.0.1:{port}", timeout=5)
    await transport.send(message())
    assert recorder.logins == [(b"ada@x", b"p@ss:w0rd")]
    (envelope,) = recorder.received
    assert envelope.rcpt_tos == ["ada@example.com"]


async def test_smtps_speaks_tls_from_the_first_byte(server: tuple[Recorder, int]) -> None:
    """A plain server does not understand a TLS handshake: smtps:// never falls back."""
    recorder, port = server
    with pytest.raises(Exception):  # noqa: B017, PT011 - the handshake fails in the TLS layer
        await SmtpTransport(f"smtps://ada%40x:p%40ss%3Aw0rd@127.0.0.1:{port}", timeout=2).send(
            message()
        )
    with pytest.raises(Exception, match="STARTTLS"):  # required, and not offered
        await SmtpTransport(f"smtp+starttls://127.0.0.1:{port}", timeout=2).send(message())
    assert recorder.received == []


@pytest.mark.parametrize(
    "url", ["http://mail.example", "smtp://", "smtp:///path", "mailto:ada@example.com"]
)
def test_unusable_smtp_urls_are_refused_without_repeating_them(url: str) -> None:
    problem = check_smtp_url(url.replace("://", "://user:s3cret@", 1) if "//" in url else url)
    assert problem is not None
    assert "s3cret" not in problem


def test_good_smtp_urls_are_accepted() -> None:
    for url in ("smtp://localhost", "smtp+starttls://h:587", "smtps://u:p@h:465"):
        assert check_smtp_url(url) is None


def test_the_message_has_a_text_and_an_escaped_html_body() -> None:
    mail = password_reset_message(
        sender="Todo <todo@todo.example>",
        to="ada@example.com",
        name='<script>"Ada"</script>',
        link=reset_link("https://todo.example/app/", TOKEN),
        minutes=30,
    )
    assert mail["Subject"] == "Reset your Todo password"
    assert mail["Message-ID"].endswith("@todo.example>")
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    text, markup = plain.get_content(), html.get_content()
    assert f"https://todo.example/app/#/reset?token={TOKEN}" in text
    assert f'href="https://todo.example/app/#/reset?token={TOKEN}"' in markup
    assert "&lt;script&gt;&quot;Ada&quot;&lt;/script&gt;" in markup
    assert "<script>" not in markup
    assert "30 minutes" in text
    assert "30 minutes" in markup
    # Whole in the raw message as well, though the link's line is longer than 78 characters.
    assert f"https://todo.example/app/#/reset?token={TOKEN}\n" in mail.as_string()


class Stuck:
    """A transport that never finishes."""

    async def send(self, message: EmailMessage) -> None:
        await asyncio.Event().wait()


class Failing:
    async def send(self, message: EmailMessage) -> None:
        raise ConnectionRefusedError(f"refused: {message.as_string()}")


def user() -> User:
    return User(uuid4(), "ada@example.com", "Ada", "hash", datetime.now(UTC))


@pytest.mark.parametrize(
    ("transport", "error"), [(Stuck(), "TimeoutError"), (Failing(), "ConnectionRefusedError")]
)
async def test_delivery_is_bounded_and_failures_are_logged_without_the_message(
    transport: Any, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mail = BackgroundAccountMail(
        transport, sender="todo@todo.example", public_url="https://todo.example", timeout=0.05
    )
    mail.send_password_reset(user(), TOKEN, timedelta(minutes=30))  # returns at once
    await asyncio.wait_for(mail.drain(), timeout=2)
    (record,) = [r for r in caplog.records if r.name == "todo.mail"]
    assert record.levelno == logging.ERROR
    assert record.__dict__["error"] == error
    assert TOKEN not in caplog.text
    assert "ada@example.com" not in caplog.text
