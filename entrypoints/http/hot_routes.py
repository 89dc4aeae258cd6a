"""The two hottest routes, one task and a page of tasks, answered without the framework.

Profiled under load, a get spent more of the worker's CPU in Litestar (routing, parameter
parsing, response objects) and dishka's request scope than in its one statement: served here
from process-wide parts, it costs about half as much. Only a request in its plain shape is
served here, decided from the method, path and query string before anything is done; any other
(more parameters, repeated or percent-encoded values, the user-scoped alias, other methods) goes
on to the Litestar app, which stays the reference and the source of the OpenAPI document. The
same use cases run either way, and tests send each request both ways and compare the answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from adapters.rate_limits import ApiRequestLimiter
from application.auth_ports import TokenVerifier
from application.cursors import CursorSigner
from application.dto import TaskListing
from application.external_callers import ExternalCallers
from application.ports import TaskReader
from application.tasks import GetTask, ListTasks
from domain.task_listing import Status
from domain.task_queries import build_query
from domain.tasks import Priority
from entrypoints.http.guards import admit
from entrypoints.http.identity import BearerIdentity
from entrypoints.http.problems import PROBLEM_MEDIA_TYPE, problem_document, problem_of
from entrypoints.http.schemas import TaskRead
from entrypoints.http.task_requests import (
    FILTER_AND_SORT,
    listing_headers,
    task_id_of,
    under_prefix_sent,
)

Scope = dict[str, Any]
Headers = list[tuple[bytes, bytes]]
ASGIApp = Any

COLLECTION = "/api/v1/tasks"
_ONE_TASK = COLLECTION + "/"
# The templates Litestar's routes have: the metrics label requests by them.
COLLECTION_TEMPLATE = COLLECTION
TASK_TEMPLATE = COLLECTION + "/{task_id:str}"
_JSON = b"application/json"
_PROBLEM_JSON = PROBLEM_MEDIA_TYPE.encode()
# A listing's query in its plain shape: these parameters, once each, with values that need no
# decoding. Anything else is the framework's to parse (and to refuse).
_PLAIN_LIST_PARAMETERS = frozenset(
    {"limit", "cursor", "status", "sort", "priority", "completed", "starred"}
)
_PLAIN_VALUE = re.compile(rb"[A-Za-z0-9_.,-]{1,1024}")
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
MAX_LIMIT = 200
DEFAULT_LIMIT = 100
_BOOLEANS = {"true": True, "false": False}
_STATUSES = {status.value: status for status in Status}
_PRIORITIES = {priority.value: priority for priority in Priority}

_encode = msgspec.json.Encoder().encode


class TaskReaders(Protocol):
    """A reader of the caller's tasks for one request (each storage provides its own)."""

    def __call__(self) -> TaskReader: ...


@dataclass(frozen=True, slots=True)
class HotRouteParts:
    """What the hot routes use: all process-wide, built once by the container."""

    verifier: TokenVerifier
    external: ExternalCallers
    limiter: ApiRequestLimiter
    cursors: CursorSigner
    readers: TaskReaders


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Headers
    body: bytes


def plain_listing(query_string: bytes) -> dict[str, Any] | None:
    """The listing's parameters, typed, when the query is in its plain shape; else ``None``."""
    values: dict[str, str] = {}
    if query_string:
        if b"null" in query_string:  # a null literal: the framework names it
            return None
        for pair in query_string.split(b"&"):
            raw_name, equals, raw_value = pair.partition(b"=")
            name = raw_name.decode("latin-1")
            if not equals or name not in _PLAIN_LIST_PARAMETERS or name in values:
                return None
            if not _PLAIN_VALUE.fullmatch(raw_value):
                return None
            values[name] = raw_value.decode("ascii")
    typed: dict[str, Any] = {"limit": DEFAULT_LIMIT}
    for name, value in values.items():
        match name:
            case "limit":
                if not _LIMIT.fullmatch(value) or int(value) > MAX_LIMIT:
                    return None
                typed[name] = int(value)
            case "status":
                typed[name] = _STATUSES.get(value)
            case "priority":
                typed[name] = [_PRIORITIES[value]] if value in _PRIORITIES else None
            case "completed" | "starred":
                typed[name] = _BOOLEANS.get(value)
            case _:
                typed[name] = value
        if typed[name] is None:
            return None
    return typed


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class HotTaskRoutes:
    """ASGI app in front of the Litestar app: serves the hot routes' plain requests, passes on
    every other. Serves nothing until ``parts`` is set (at start-up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.parts: HotRouteParts | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        parts = self.parts
        if parts is None or scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == COLLECTION:
            listing = plain_listing(scope["query_string"])
            if listing is None:
                await self.app(scope, receive, send)
                return
            scope["path_template"] = COLLECTION_TEMPLATE
            await self._answer(scope, send, self._list(parts, scope, listing))
        elif (
            path.startswith(_ONE_TASK)
            and len(path) > len(_ONE_TASK)
            and "/" not in path[len(_ONE_TASK) :]
            and not scope["query_string"]
        ):
            scope["path_template"] = TASK_TEMPLATE
            await self._answer(scope, send, self._get(parts, scope, path[len(_ONE_TASK) :]))
        else:
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Any, work: Any) -> None:
        try:
            answer: _Answer = await work
        except Exception as exc:
            answer = _problem(scope, exc)
        headers = [
            (b"content-length", str(len(answer.body)).encode()),
            *answer.headers,
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _get(self, parts: HotRouteParts, scope: Scope, raw_id: str) -> _Answer:
        identity = _identity(parts, scope)
        await admit(identity, parts.limiter)
        task = await GetTask(identity, parts.readers())(task_id_of(raw_id))
        return _Answer(
            200,
            [(b"content-type", _JSON), (b"etag", b'"%d"' % task.version)],
            _encode(TaskRead.of(task)),
        )

    async def _list(self, parts: HotRouteParts, scope: Scope, listing: dict[str, Any]) -> _Answer:
        identity = _identity(parts, scope)
        await admit(identity, parts.limiter)
        query = build_query(**{name: listing.get(name) for name in FILTER_AND_SORT})
        list_tasks = ListTasks(identity, parts.readers(), parts.cursors)
        page = await list_tasks(TaskListing(query, listing["limit"], listing.get("cursor")))
        collection = under_prefix_sent(COLLECTION, scope["state"]["original_path"])
        headers = listing_headers(page, collection, scope["query_string"])
        return _Answer(
            200,
            [(b"content-type", _JSON)]
            + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
            _encode([TaskRead.of(task) for task in page.tasks]),
        )


def _identity(parts: HotRouteParts, scope: Scope) -> BearerIdentity:
    return BearerIdentity(_header(scope, b"authorization"), parts.verifier, parts.external)


def _problem(scope: Scope, exc: Exception) -> _Answer:
    state = scope["state"]
    problem = problem_of(exc, state["request_id"])
    body = problem_document(
        problem, instance=state["original_path"], request_id=state["request_id"]
    )
    headers = [(b"content-type", _PROBLEM_JSON)] + [
        (name.lower().encode(), value.encode("latin-1")) for name, value in problem.headers.items()
    ]
    return _Answer(problem.status, headers, _encode(body))
