"""Tasks: ``/api/v1/tasks`` (and the user-scoped alias ``/api/v1/{user_id}/tasks``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, TypeVar

from dishka.integrations.litestar import FromDishka, inject
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
from domain.errors import FieldError, ValidationFailed
from domain.task_listing import Status
from domain.task_queries import SORT_DOC, build_query
from domain.tasks import MAX_TAGS_SENT, Priority
from entrypoints.http.body import JsonBody
from entrypoints.http.guards import authenticated, checked, json_body_required
from entrypoints.http.problems import documented
from entrypoints.http.query_errors import QUERY_RULES, no_null_literals
from entrypoints.http.schemas import (
    TASK_READ_ONLY_FIELDS,
    CompletionBody,
    DeletedCount,
    TaskCreate,
    TaskRead,
    TaskUpdate,
    task_rule_errors,
)
from entrypoints.http.task_requests import (
    DEFAULT_LIMIT,
    LIST_QUERY,
    MAX_LIMIT,
    accepts_query,
    collection_path,
    expected_versions,
    if_match_of,
    listing_headers,
    listing_query,
    task_id_of,
)

T = TypeVar("T")

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


class TaskBody(JsonBody[T]):
    ignored_fields = TASK_READ_ONLY_FIELDS
    max_items = {"tags": MAX_TAGS_SENT}  # the domain's rule, before msgspec reads each tag

    @staticmethod
    def rules(fields: Mapping[str, Any]) -> list[FieldError]:
        return task_rule_errors(fields)


def list_query_rules(values: Mapping[str, Any]) -> None:
    """The listing rules beyond each parameter's type, on the values that parsed."""
    listing_query(values)


def task_response(
    task: TaskRead, status_code: int = HTTP_200_OK, **headers: str
) -> Response[TaskRead]:
    return Response(task, status_code=status_code, headers={"ETag": f'"{task.version}"', **headers})


class TasksController(Controller):
    path = "/tasks"
    tags = ["tasks"]
    middleware = [checked(authenticated)]
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
    @inject
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
        opt={**accepts_query(*LIST_QUERY), QUERY_RULES: list_query_rules},
        middleware=[checked(no_null_literals)],
    )
    @inject
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
        search: Annotated[str | None, QueryParameter(description="the same as q")] = None,
        category: Annotated[
            list[str] | None, QueryParameter(description="any of, case-insensitive")
        ] = None,
        sort: Annotated[
            str | None, QueryParameter(description=SORT_DOC + " Default -created_at.")
        ] = None,
        sort_by: Annotated[
            str | None, QueryParameter(description="sort field, with order: the same as sort")
        ] = None,
        order: Annotated[
            str | None, QueryParameter(description="asc (default) or desc; needs sort_by")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
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
            category=category,
            due_before=due_before,
            due_after=due_after,
            q=q,
            search=search,
            sort=sort,
            sort_by=sort_by,
            order=order,
        )
        page = await list_tasks(TaskListing(query=query, limit=limit, cursor=cursor))
        headers = listing_headers(page, collection_path(request), request.scope["query_string"])
        return Response([TaskRead.of(t) for t in page.tasks], headers=headers)

    @delete(
        "/",
        status_code=HTTP_200_OK,
        summary="Delete the caller's completed tasks (status=completed)",
        responses=documented(401, 422),
        opt=accepts_query("status"),
    )
    @inject
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
    @inject
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
    @inject
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
    @inject
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
    @inject
    async def delete_task(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[str],
        delete_task: FromDishka[DeleteTask],
        if_match: Annotated[str | None, IF_MATCH] = None,
    ) -> None:
        await delete_task(task_id_of(task_id), expected_versions(if_match_of(request)))
