"""Tasks: ``/api/v1/tasks`` (and the user-scoped alias ``/api/v1/{user_id}/tasks``)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, HttpMethod, Request, Response, delete, get, patch, post, route
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from application.dto import Completion, TaskListing, TaskWrite
from application.tasks import (
    ClearCompletedTasks,
    CompleteTask,
    CreateTask,
    DeleteTask,
    GetTask,
    ListTasks,
    UpdateTask,
)
from domain.errors import FieldError, TaskNotFound, ValidationFailed
from domain.tasks import MAX_TAGS_SENT, Priority, Status, TaskFilter, TaskQuery, TaskSort
from domain.text import check_text
from entrypoints.http.body import JsonBody
from entrypoints.http.guards import Connection, authenticated, checked, json_body_required
from entrypoints.http.problems import documented
from entrypoints.http.schemas import (
    TASK_READ_ONLY_FIELDS,
    CompletionBody,
    DeletedCount,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)

T = TypeVar("T")
MAX_VERSION = 2**31 - 1  # the column is a 32-bit integer
_MAX_VERSION_DIGITS = len(str(MAX_VERSION))
_OWS = " \t"  # the only whitespace HTTP allows around list elements
# Query parameters that may be given more than once, and how often; any other, once.
REPEATABLE_QUERY = frozenset({"priority", "tag", "category"})
MAX_QUERY_VALUES = 50
VERSIONED_PREFIX = "/api/v1"
UNVERSIONED_PREFIX = "/api"
_SLASHES = re.compile(r"/{2,}")
_PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

ETAG = ResponseHeader(name="ETag", description="The task's version", documentation_only=True)
LOCATION = ResponseHeader(name="Location", description="The new task", documentation_only=True)
TOTAL_COUNT = ResponseHeader(
    name="X-Total-Count", description="Tasks matching the filters", documentation_only=True
)
LINK = ResponseHeader(
    name="Link",
    description='The next page, as rel="next", when one follows',
    documentation_only=True,
)
IF_MATCH = HeaderParameter(name="If-Match")  # documented here, read by ``if_match_of``
WRITE_PROBLEMS = documented(400, 401, 404, 412, 415, 422)

SORT_DOC = (
    "created_at, updated_at, due_date, priority or title; prefix '-' for descending. "
    "Priority sorts by meaning, title case-insensitively, tasks without a due date last."
)


class TaskBody(JsonBody[T]):
    ignored_fields = TASK_READ_ONLY_FIELDS
    max_items = {"tags": MAX_TAGS_SENT}  # the domain's rule, before msgspec reads each tag


def task_id_of(raw: str) -> UUID:
    """A malformed id names no task: 404, like any unknown one."""
    try:
        return UUID(raw)
    except ValueError:
        raise TaskNotFound() from None


def if_match_of(request: Request[Any, Any, Any]) -> str | None:
    """Every ``If-Match`` field line, combined into one list as HTTP defines it (the framework's
    header parameter sees only the first); ``None`` when there is none."""
    lines = request.headers.getall("if-match", [])
    return ", ".join(lines) if lines else None


def expected_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions an ``If-Match`` header accepts; ``None`` (no header, or exactly ``*``)
    writes unconditionally. Only strong tags spelled exactly as this API spells them (``"12"``:
    ASCII digits, no sign, no leading zero) name a version; anything else, ``*`` inside a
    list included, matches none."""
    if if_match is None:
        return None
    if if_match.strip(_OWS) == "*":
        return None
    tags = (tag.strip(_OWS) for tag in if_match.split(","))
    return frozenset(version for tag in tags if (version := _version_of(tag)) is not None)


def _version_of(tag: str) -> int | None:
    """The version a strong entity tag names, or ``None``. Checked before ``int()``, which
    takes non-ASCII digits and refuses (raises on) very long strings."""
    digits = tag[1:-1]
    if (
        len(tag) < 3
        or tag[0] != '"'
        or tag[-1] != '"'
        or len(digits) > _MAX_VERSION_DIGITS
        or not (digits.isascii() and digits.isdigit())
        or digits[0] == "0"
    ):
        return None
    version = int(digits)
    return version if version <= MAX_VERSION else None


async def query_shape(connection: Connection) -> None:
    """Each query parameter at most once, a repeatable one at most ``MAX_QUERY_VALUES``
    times: checked in one pass before any value is parsed."""
    if not connection.scope.get("query_string"):
        return
    counts = Counter(name for name, _ in connection.query_params.multi_items())
    errors = [
        FieldError(name, f"may be given at most {MAX_QUERY_VALUES} times")
        if name in REPEATABLE_QUERY
        else FieldError(name, "must be given at most once")
        for name, count in counts.items()
        if count > (MAX_QUERY_VALUES if name in REPEATABLE_QUERY else 1)
    ]
    if errors:
        raise ValidationFailed(errors)


def task_response(
    task: TaskRead, status_code: int = HTTP_200_OK, **headers: str
) -> Response[TaskRead]:
    return Response(task, status_code=status_code, headers={"ETag": f'"{task.version}"', **headers})


def _text_filter(name: str, value: str, errors: list[FieldError]) -> str:
    cleaned, error = check_text(name, value, min_length=0, max_length=255)
    if error:
        errors.append(error)
    return cleaned


def build_query(
    *,
    status: Status | None,
    completed: bool | None,
    priority: list[Priority] | None,
    starred: bool | None,
    tag: list[str] | None,
    due_before: date | None,
    due_after: date | None,
    q: str | None,
    sort: str,
) -> TaskQuery:
    errors: list[FieldError] = []
    done = {Status.PENDING: False, Status.COMPLETED: True}.get(status or Status.ALL)
    if completed is not None and done is not None and completed != done:
        errors.append(FieldError("completed", "contradicts status"))
    done = completed if completed is not None else done
    tags = tuple(dict.fromkeys(_text_filter("tag", t, errors).lower() for t in tag or ()))
    text = _text_filter("q", q, errors) if q is not None else None
    try:
        task_sort = TaskSort.parse(sort)
    except ValueError:
        errors.append(FieldError("sort", "must be one of " + SORT_DOC))
        task_sort = TaskSort()
    if errors:
        raise ValidationFailed(errors)
    return TaskQuery(
        filter=TaskFilter(
            completed=done,
            priorities=tuple(dict.fromkeys(priority or ())),
            starred=starred,
            tags=tuple(t for t in tags if t),
            due_before=due_before,
            due_after=due_after,
            text=text or None,
        ),
        sort=task_sort,
    )


def collection_path(request: Request[Any, Any, Any]) -> str:
    """The tasks collection's path, built from the matched route, never copied from the request:
    ``/api/v1/tasks`` or ``/api/v1/{user_id}/tasks``, with the caller's id (checked by the
    route's guard) in canonical form, under the prefix the client used (``/api`` or ``/api/v1``)."""
    template: str = request.scope["path_template"].rstrip("/")
    path = _PATH_PARAMETER.sub(lambda m: str(UUID(str(request.path_params[m[1]]))), template)
    sent = _SLASHES.sub("/", request.scope["state"].get("original_path", request.url.path))
    if not (sent == VERSIONED_PREFIX or sent.startswith(VERSIONED_PREFIX + "/")):
        path = UNVERSIONED_PREFIX + path.removeprefix(VERSIONED_PREFIX)
    return path


def next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    query = urlencode([*params, ("cursor", cursor)])
    return f'<{collection_path(request)}?{query}>; rel="next"'


class TasksController(Controller):
    path = "/tasks"
    tags = ["tasks"]
    middleware = [checked(authenticated, query_shape)]
    security = [{"bearer": []}]

    @post(
        "/",
        summary="Create a task",
        responses=documented(400, 401, 409, 415, 422),
        response_headers=[ETAG, LOCATION],
        status_code=HTTP_201_CREATED,
        dto=TaskBody[TaskCreate],
        return_dto=None,
        middleware=[checked(json_body_required)],
    )
    async def create_task(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TaskCreate],
        create: FromDishka[CreateTask],
    ) -> Response[TaskRead]:
        task = TaskRead.of(await create(data.changes()))
        location = f"{collection_path(request)}/{task.id}"
        return task_response(task, HTTP_201_CREATED, Location=location)

    @get(
        "/",
        summary="List tasks (filtered, sorted, keyset-paginated)",
        responses=documented(401, 422),
        response_headers=[TOTAL_COUNT, LINK],
    )
    async def list_tasks(
        self,
        request: Request[Any, Any, Any],
        list_tasks: FromDishka[ListTasks],
        status: Annotated[
            Status | None, QueryParameter(description="all, pending or completed")
        ] = None,
        completed: FromQuery[bool | None] = None,
        priority: Annotated[list[Priority] | None, QueryParameter(description="any of")] = None,
        starred: FromQuery[bool | None] = None,
        tag: Annotated[
            list[str] | None, QueryParameter(description="all of, case-insensitive")
        ] = None,
        due_before: Annotated[date | None, QueryParameter(description="inclusive")] = None,
        due_after: Annotated[date | None, QueryParameter(description="inclusive")] = None,
        q: Annotated[
            str | None, QueryParameter(description="substring of title or description")
        ] = None,
        sort: Annotated[str, QueryParameter(description=SORT_DOC)] = "-created_at",
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 100,
        cursor: Annotated[
            str | None, QueryParameter(description="from the previous page's Link")
        ] = None,
    ) -> Response[list[TaskRead]]:
        query = build_query(
            status=status,
            completed=completed,
            priority=priority,
            starred=starred,
            tag=tag,
            due_before=due_before,
            due_after=due_after,
            q=q,
            sort=sort,
        )
        page = await list_tasks(TaskListing(query=query, limit=limit, cursor=cursor))
        headers = {"X-Total-Count": str(page.total)}
        if page.next_cursor:
            headers["Link"] = next_link(request, page.next_cursor)
        return Response([TaskRead.of(t) for t in page.tasks], headers=headers)

    @delete(
        "/",
        status_code=HTTP_200_OK,
        summary="Delete the caller's completed tasks (status=completed)",
        responses=documented(401, 422),
    )
    async def clear_completed(
        self,
        clear: FromDishka[ClearCompletedTasks],
        status: Annotated[str | None, QueryParameter(description="must be 'completed'")] = None,
    ) -> DeletedCount:
        if status != Status.COMPLETED.value:
            raise ValidationFailed([FieldError("status", "must be 'completed'")])
        return DeletedCount(deleted=await clear())

    @get(
        "/{task_id:str}",
        summary="One task",
        responses=documented(401, 404),
        response_headers=[ETAG],
    )
    async def get_task(
        self, task_id: FromPath[str], get_task: FromDishka[GetTask]
    ) -> Response[TaskRead]:
        return task_response(TaskRead.of(await get_task(task_id_of(task_id))))

    @route(
        "/{task_id:str}",
        http_method=[HttpMethod.PUT, HttpMethod.PATCH],
        summary="Update a task: fields present are replaced, absent kept; null clears",
        responses=WRITE_PROBLEMS,
        response_headers=[ETAG],
        dto=TaskBody[TaskUpdate],
        return_dto=None,
        middleware=[checked(json_body_required)],
    )
    async def update_task(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[str],
        data: JSONBody[TaskUpdate],
        update: FromDishka[UpdateTask],
        if_match: Annotated[str | None, IF_MATCH] = None,
    ) -> Response[TaskRead]:
        """PUT and PATCH are one operation here: both write only the fields they carry."""
        write = TaskWrite(
            task_id_of(task_id), data.changes(), expected_versions(if_match_of(request))
        )
        return task_response(TaskRead.of(await update(write)))

    @patch(
        "/{task_id:str}/complete",
        summary="Set `completed`, or toggle it when the body has none",
        responses=WRITE_PROBLEMS,
        response_headers=[ETAG],
        dto=TaskBody[CompletionBody],
        return_dto=None,
    )
    async def complete_task(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[str],
        complete: FromDishka[CompleteTask],
        data: JSONBody[CompletionBody | None] = None,
        if_match: Annotated[str | None, IF_MATCH] = None,
    ) -> Response[TaskRead]:
        completed = (
            data.completed if data is not None and isinstance(data.completed, bool) else None
        )
        completion = Completion(
            task_id_of(task_id), completed, expected_versions(if_match_of(request))
        )
        return task_response(TaskRead.of(await complete(completion)))

    @delete(
        "/{task_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a task",
        responses=documented(401, 404, 412),
    )
    async def delete_task(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[str],
        delete_task: FromDishka[DeleteTask],
        if_match: Annotated[str | None, IF_MATCH] = None,
    ) -> None:
        await delete_task(task_id_of(task_id), expected_versions(if_match_of(request)))
