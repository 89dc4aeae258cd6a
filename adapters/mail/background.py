"""Account mail sent in the background: the request that asks for it returns at once, each
delivery is bounded by a timeout, and a failure is logged without the message's contents."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

from adapters.mail.messages import password_reset_message, reset_link
from domain.users import User

log = logging.getLogger("todo.mail")
# The longest one delivery may take, connection and all; a slower server counts as a failure.
SEND_TIMEOUT_SECONDS = 15.0


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class BackgroundAccountMail:
    def __init__(
        self, transport: Transport, *, sender: str, public_url: str, timeout: float
    ) -> None:
        self._transport = transport
        self._sender = sender
        self._public_url = public_url
        self._timeout = timeout
        self._pending: set[asyncio.Task[None]] = set()

    def send_password_reset(self, user: User, token: str, valid_for: timedelta) -> None:
        minutes = max(1, round(valid_for.total_seconds() / 60))

        def compose() -> EmailMessage:
            return password_reset_message(
                sender=self._sender,
                to=user.email,
                name=user.name,
                link=reset_link(self._public_url, token),
                minutes=minutes,
            )

        self._start(compose, "password reset")

    def _start(self, compose: Callable[[], EmailMessage], kind: str) -> None:
        task = asyncio.create_task(self._deliver(compose, kind))
        self._pending.add(task)  # a task nobody references may be collected mid-flight
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, compose: Callable[[], EmailMessage], kind: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._transport.send(compose())
        except Exception as error:
            # The kind and the error's type only: the message holds the link, and an SMTP
            # error may quote it back.
            log.error("%s mail not sent", kind, extra={"error": type(error).__name__})

    async def drain(self) -> None:
        """Wait for the deliveries under way (at shutdown, in tests); each is bounded."""
        if self._pending:
            await asyncio.wait(set(self._pending))
