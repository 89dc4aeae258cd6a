"""The request-body deadline: the whole body is due ``BODY_TIMEOUT`` seconds after the headers;
past it the request is cancelled where it waits and answered 408."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from entrypoints.http.problems import CLIENT_GONE, Problem

PROBLEM_MEDIA_TYPE = b"application/problem+json"
REQUEST_TIMEOUT_TYPE = "https://todo.dev/problems/request-timeout"


class BodyDeadline:
    """The whole request body is due ``timeout`` seconds after the request headers (the server
    calls the app once they are in). Each time the app waits for more of the body, a timer is
    armed for that moment: when it fires, the request's task is cancelled where it waits. Work
    done once the body is in, or once the response has started, is not bounded; requests that
    read no body arm nothing. Also notes a client that hangs up (``CLIENT_GONE``)."""

    __slots__ = (
        "_due",
        "_loop",
        "_receive",
        "_state",
        "body_pending",
        "expired",
        "responding",
        "task",
    )

    def __init__(self, receive: Any, state: dict[str, Any], timeout: float) -> None:
        self._receive = receive
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._due = self._loop.time() + timeout
        self.task: asyncio.Task[Any] | None = None  # the request's, while the app runs
        self.body_pending = True
        self.responding = False
        self.expired = False

    def _expire(self) -> None:
        if self.task is not None:
            self.expired = True
            self.task.cancel()

    async def receive(self) -> dict[str, Any]:
        if self.task is None or not self.body_pending or self.responding:
            message: dict[str, Any] = await self._receive()
        else:
            timer = self._loop.call_at(self._due, self._expire)
            try:
                message = await self._receive()
            finally:
                timer.cancel()
        if message["type"] == "http.disconnect":
            self._state[CLIENT_GONE] = True
            self.body_pending = False
        elif message["type"] == "http.request" and not message.get("more_body", False):
            self.body_pending = False
        return message


async def send_request_timeout(send: Any, *, path: str, request_id: str, seconds: float) -> None:
    """408: the body did not arrive in time. Nothing was done with the request, and the
    connection is closed: the rest of the body may still be on its way."""
    body = msgspec.json.encode(
        Problem(
            type=REQUEST_TIMEOUT_TYPE,
            title="Request timeout",
            status=408,
            detail=f"The request body did not arrive in time ({seconds:g} s).",
            instance=path,
            request_id=request_id,
        )
    )
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 408, "headers": headers})
    await send({"type": "http.response.body", "body": body})
