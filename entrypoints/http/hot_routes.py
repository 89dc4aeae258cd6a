"""The task routes' plain requests, answered without the framework.

Profiled under load, a get spent more of the worker's CPU in Litestar (routing, parameter
parsing, response objects) and in dishka's request scope than in its one statement. Served here
from process-wide parts, a request costs about half as much. Only a request in its plain shape
is served here, decided from its method, path, query string and headers before anything is
done: a listing with a few parameters sent plainly, one task's id with no query, a JSON body of
a declared length within the limit. Any other (other parameters, encoded or repeated values, a
missing or chunked body, a wrong media type, the user-scoped alias) goes on to Litestar, which
stays the reference and the source of the OpenAPI document. The same use cases run either way,
and ``tests/api/test_hot_routes.py`` sends each request both ways and compares the answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from adapters.rate_limits import ApiRequestLimiter
from application.auth_ports import TokenVerifier
from application.cursors import CursorSigner
from application.dto import Completion, TaskListing, TaskWrite
from application.external_callers import ExternalCallers
from application.ports import Clock, IdGenerator, TaskRepository
from application.tasks import (
    CompleteTask,
    CreateTask,
    DeleteTask,
    GetTask,
    ListTasks,
    TaskPolicy,
    UpdateTask,
)
from domain.tasks import Task
from entrypoints.http.body import MAX_BODY_BYTES
from entrypoints.http.controllers.tasks import TaskBody
from entrypoints.http.guards import admit
from entrypoints.http.identity import BearerIdentity
from entrypoints.http.middleware import first_header
from entrypoints.http.plain_requests import (
    body_media_type_problem,
    declared_length,
    plain_json_body,
    plain_listing,
)
from entrypoints.http.problems import (
    CLIENT_CLOSED_REQUEST,
    PROBLEM_MEDIA_TYPE,
    client_gone,
    problem_document,
    problem_of,
)
from entrypoints.http.schemas import CompletionBody, TaskCreate, TaskRead, TaskUpdate
from entrypoints.http.task_requests import (
    expected_versions,
    if_match_in,
    listing_headers,
    listing_query,
    task_id_of,
    under_prefix_sent,
)

Scope = dict[str, Any]
Headers = list[tuple[bytes, bytes]]
ASGIApp = Any

COLLECTION = "/api/v1/tasks"
_ONE_TASK = COLLECTION + "/"
# Litestar's templates for these routes: metrics label requests by them.
TASK_TEMPLATE = COLLECTION + "/{task_id}"
COMPLETE_TEMPLATE = TASK_TEMPLATE + "/complete"
_JSON = b"application/json"
_PROBLEM_JSON = PROBLEM_MEDIA_TYPE.encode()

_encode = msgspec.json.Encoder().encode


class TaskStores(Protocol):
    """The caller's tasks for one request, each statement on its own (each storage provides
    its own). The task use cases served here run one statement, and a second look on a miss:
    none opens a transaction."""

    def __call__(self) -> TaskRepository: ...


@dataclass(frozen=True, slots=True)
class HotRouteParts:
    """What the hot routes use: all process-wide, built once by the container."""

    verifier: TokenVerifier
    external: ExternalCallers
    limiter: ApiRequestLimiter
    cursors: CursorSigner
    stores: TaskStores
    ids: IdGenerator
    clock: Clock
    policy: TaskPolicy


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Headers
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class _Request:
    """A request the hot routes serve, as the route's handler sees it."""

    parts: HotRouteParts
    scope: Scope
    receive: Any
    identity: BearerIdentity
    argument: Any  # the task id as sent, or the listing's typed parameters


Handler = Callable[[_Request], Awaitable[_Answer]]


def _route(scope: Scope) -> tuple[Handler, str, Any] | None:
    """The handler, route template and argument of a plain request; ``None`` for any other."""
    method, path, query = scope["method"], scope["path"], scope["query_string"]
    if path == COLLECTION:
        if method == "GET":
            listing = plain_listing(query)
            return None if listing is None else (_list, COLLECTION, listing)
        if method == "POST" and not query and plain_json_body(scope):
            return _create, COLLECTION, None
        return None
    if not path.startswith(_ONE_TASK) or query:
        return None
    match path[len(_ONE_TASK) :].split("/"):
        case [task] if task:
            if method == "GET":
                return _get, TASK_TEMPLATE, task
            if method in ("PATCH", "PUT") and plain_json_body(scope):
                return _update, TASK_TEMPLATE, task
            if method == "DELETE" and declared_length(scope) == 0:
                return _delete, TASK_TEMPLATE, task
        case [task, "complete"] if task and method == "PATCH":
            if declared_length(scope) == 0 or plain_json_body(scope):
                return _complete, COMPLETE_TEMPLATE, task
    return None


class HotTaskRoutes:
    """ASGI app in front of the Litestar app: serves the task routes' plain requests, passes on
    every other. Serves nothing until ``parts`` is set (at start-up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.parts: HotRouteParts | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        parts = self.parts
        route = _route(scope) if parts is not None and scope["type"] == "http" else None
        if parts is None or route is None:
            await self.app(scope, receive, send)
            return
        handler, template, argument = route
        scope["path_template"] = template
        identity = BearerIdentity(
            first_header(scope, b"authorization"), parts.verifier, parts.external
        )
        try:
            await admit(identity, parts.limiter)
            answer = await handler(_Request(parts, scope, receive, identity, argument))
        except Exception as exc:
            answer = _problem(scope, exc)
        headers = answer.headers  # a 204 has no body, and says no length
        if answer.status != 204:
            headers = [(b"content-length", b"%d" % len(answer.body)), *headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


async def _body(request: _Request) -> bytes:
    """The whole body: the edge's deadline bounds the wait, and 1 MiB its size (checked as it
    comes, since a body may arrive undeclared)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientException("client disconnected prematurely")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _task_answer(task: Task, status: int = 200, *extra: tuple[bytes, bytes]) -> _Answer:
    headers = [(b"content-type", _JSON), (b"etag", b'"%d"' % task.version), *extra]
    return _Answer(status, headers, _encode(TaskRead.of(task)))


def _versions(request: _Request) -> frozenset[int] | None:
    return expected_versions(if_match_in(request.scope["headers"]))


async def _get(request: _Request) -> _Answer:
    get_task = GetTask(request.identity, request.parts.stores())
    return _task_answer(await get_task(task_id_of(request.argument)))


async def _list(request: _Request) -> _Answer:
    parts, listing, scope = request.parts, request.argument, request.scope
    query = listing_query(listing)
    list_tasks = ListTasks(request.identity, parts.stores(), parts.cursors)
    page = await list_tasks(TaskListing(query, listing["limit"], listing.get("cursor")))
    collection = under_prefix_sent(COLLECTION, scope["state"]["original_path"])
    headers = listing_headers(page, collection, scope["query_string"])
    return _Answer(
        200,
        [(b"content-type", _JSON), *_asgi_headers(headers)],
        _encode([TaskRead.of(task) for task in page.tasks]),
    )


async def _create(request: _Request) -> _Answer:
    parts = request.parts
    data = TaskBody.decode(await _body(request), TaskCreate)
    create = CreateTask(request.identity, parts.stores(), parts.ids, parts.clock, parts.policy)
    task = await create(data.changes())
    collection = under_prefix_sent(COLLECTION, request.scope["state"]["original_path"])
    return _task_answer(task, 201, (b"location", f"{collection}/{task.id}".encode()))


async def _update(request: _Request) -> _Answer:
    data = TaskBody.decode(await _body(request), TaskUpdate)
    write = TaskWrite(task_id_of(request.argument), data.changes(), _versions(request))
    update = UpdateTask(request.identity, request.parts.stores(), request.parts.clock)
    return _task_answer(await update(write))


async def _complete(request: _Request) -> _Answer:
    body = await _body(request)
    data = None
    if body:  # one may come undeclared (HTTP/2): its media type is checked as it is read
        if (problem := body_media_type_problem(request.scope)) is not None:
            raise problem
        data = TaskBody.decode(body, CompletionBody)
    completed = data.completed if data is not None and isinstance(data.completed, bool) else None
    completion = Completion(task_id_of(request.argument), completed, _versions(request))
    complete = CompleteTask(request.identity, request.parts.stores(), request.parts.clock)
    return _task_answer(await complete(completion))


async def _delete(request: _Request) -> _Answer:
    delete_task = DeleteTask(request.identity, request.parts.stores())
    await delete_task(task_id_of(request.argument), _versions(request))
    return _Answer(204, [])


def _problem(scope: Scope, exc: Exception) -> _Answer:
    state = scope["state"]
    if client_gone(state):
        return _Answer(CLIENT_CLOSED_REQUEST, [])
    problem = problem_of(exc, state["request_id"])
    body = problem_document(
        problem, instance=state["original_path"], request_id=state["request_id"]
    )
    headers = [(b"content-type", _PROBLEM_JSON), *_asgi_headers(problem.headers)]
    return _Answer(problem.status, headers, _encode(body))


def _asgi_headers(headers: Mapping[str, str]) -> Headers:
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]
