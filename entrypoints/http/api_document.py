"""The OpenAPI document is the contract: Litestar's paths and parameters, finished with what it
cannot say on its own.

- Component schemas come from msgspec, which carries every JSON Schema rule of the body types
  (lengths, patterns, ``maxItems``, formats, ``additionalProperties: false`` for bodies that
  refuse unknown fields, ``null`` only where a field is nullable, required only where it is).
- Every operation gets a method-like ``operationId``, every status it can answer with (the
  problem schema for errors) and its headers, examples, and ``links`` from a created task.
- Query parameters lose Litestar's ``null`` branch (a query string has no null) and gain the
  rules of the listing.

The document is built once per app and served at ``/openapi.json`` (and ``/docs/openapi.json``).
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar

from domain.task_listing import SortField, Status
from domain.tasks import Priority
from entrypoints.http.account_schemas import (
    AccountDeletionBody,
    PasswordChangeBody,
    PasswordResetBody,
    PasswordResetConfirmBody,
    ProfileBody,
    ResetRequested,
)
from entrypoints.http.api_examples import EXAMPLES
from entrypoints.http.field_types import NO_CONTROLS, NOT_BLANK
from entrypoints.http.problems import PROBLEM_MEDIA_TYPE, STATUS_DESCRIPTIONS, Problem
from entrypoints.http.schemas import (
    CompletionBody,
    DeletedCount,
    Health,
    LoginBody,
    LogoutBody,
    RefreshBody,
    RegisterBody,
    TaskCreate,
    TaskRead,
    TaskUpdate,
    TokenPairRead,
    UserRead,
)
from entrypoints.http.task_requests import MAX_QUERY_VALUES

Json = dict[str, Any]
REF = "#/components/schemas/{name}"
SHAPES: tuple[type[Any], ...] = (
    *(TaskCreate, TaskUpdate, CompletionBody, TaskRead, DeletedCount, Priority, Status),
    *(RegisterBody, LoginBody, RefreshBody, LogoutBody, TokenPairRead, UserRead),
    *(ProfileBody, PasswordChangeBody, AccountDeletionBody, PasswordResetBody),
    *(PasswordResetConfirmBody, ResetRequested, Health, Problem),
)
TASK = "/api/v1/tasks/{task_id}"
# (method, path) -> operationId: what generated clients name their methods.
OPERATION_IDS = {
    ("post", "/api/v1/auth/register"): "register",
    ("post", "/api/v1/auth/login"): "logIn",
    ("post", "/api/v1/auth/refresh"): "refreshSession",
    ("post", "/api/v1/auth/logout"): "logOut",
    ("post", "/api/v1/auth/logout-all"): "logOutEverywhere",
    ("get", "/api/v1/auth/me"): "getCurrentUser",
    ("patch", "/api/v1/auth/me"): "updateCurrentUser",
    ("delete", "/api/v1/auth/me"): "deleteAccount",
    ("get", "/api/v1/auth/profile"): "getProfile",
    ("put", "/api/v1/auth/profile"): "updateProfile",
    ("post", "/api/v1/auth/password"): "changePassword",
    ("post", "/api/v1/auth/password-reset"): "requestPasswordReset",
    ("post", "/api/v1/auth/password-reset/confirm"): "confirmPasswordReset",
    ("post", "/api/v1/tasks"): "createTask",
    ("get", "/api/v1/tasks"): "listTasks",
    ("delete", "/api/v1/tasks"): "clearCompletedTasks",
    ("get", TASK): "getTask",
    ("put", TASK): "putTask",
    ("patch", TASK): "updateTask",
    ("patch", TASK + "/complete"): "completeTask",
    ("delete", TASK): "deleteTask",
    ("get", "/health"): "getHealth",
    ("get", "/health/ready"): "getReadiness",
}
# Bodies a client may leave out entirely.
OPTIONAL_BODIES = {("post", "/api/v1/auth/logout"), ("patch", TASK + "/complete")}
# Logout also works with no access token, by the refresh token in the body alone.
OPTIONAL_BEARER = {("post", "/api/v1/auth/logout")}

HEADERS: Json = {
    "ETag": {
        "description": 'The task\'s version as a strong entity tag, e.g. `"3"`; send it back in'
        " `If-Match` to write only that version",
        "schema": {"type": "string", "pattern": '^"[1-9][0-9]*"$'},
    },
    "Location": {
        "description": "The new task's URL (root-relative)",
        "schema": {"type": "string", "format": "uri-reference", "pattern": "^/"},
    },
    "Link": {
        "description": 'The next page, `<URL>; rel="next"`, when one follows (filters, sort and'
        " limit kept); absent on the last page",
        "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'},
    },
    "X-Total-Count": {
        "description": "How many tasks match the filters, over all pages",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": 'The Bearer challenge; `error="invalid_token"` when a bad token was sent'
        ' (with `error_description="expired"` for an expired one)',
        "schema": {"type": "string", "pattern": "^Bearer"},
    },
}
_TASK_HEADERS = {"ETag": True}
# operationId -> headers of its success response (name -> required).
SUCCESS_HEADERS: dict[str, dict[str, bool]] = {
    "createTask": {"ETag": True, "Location": True},
    "listTasks": {"X-Total-Count": True, "Link": False},
    **dict.fromkeys(("getTask", "putTask", "updateTask", "completeTask"), _TASK_HEADERS),
}
# Errors every operation of a kind can answer with, beyond what its handler declares.
BODY_ERRORS = (400, 408, 413, 415, 422)
API_ERRORS = (422, 503)  # an unknown query parameter; the database timing out or unreachable
BEARER_ERRORS = (401, 429)  # no usable token; API_RATE_LIMIT
EXTRA_ERRORS = {
    "getReadiness": (503,),  # its problem names the failed checks
    "refreshSession": (429,),  # API_RATE_LIMIT per client address
}
READINESS: Json = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "What is degraded (e.g. redis), when anything is",
        },
    },
    "required": ["status"],
    "examples": [{"status": "ok"}, {"status": "degraded", "checks": {"redis": "unreachable"}}],
}

SORTS = [f"{sign}{field.value}" for field in SortField for sign in ("", "-")]
_QUERY_TEXT: Json = {"type": "string", "maxLength": 255, "pattern": NO_CONTROLS}
# A tag or category filter is one the field could hold.
_QUERY_LABEL: Json = {"type": "string", "minLength": 1, "maxLength": 50, "pattern": NOT_BLANK}
# The listing's query parameters as JSON Schema (Litestar knows their types, not their rules).
LIST_PARAMETERS: dict[str, Json] = {
    "status": {"type": "string", "enum": [s.value for s in Status], "default": "all"},
    "priority": {
        "type": "array",
        "items": {"$ref": REF.format(name="Priority")},
        "maxItems": MAX_QUERY_VALUES,
    },
    "tag": {"type": "array", "items": _QUERY_LABEL, "maxItems": MAX_QUERY_VALUES},
    "category": {"type": "array", "items": _QUERY_LABEL, "maxItems": MAX_QUERY_VALUES},
    "q": _QUERY_TEXT,
    "search": _QUERY_TEXT,
    "sort": {"type": "string", "enum": SORTS, "default": "-created_at"},
    "sort_by": {"type": "string", "enum": [field.value for field in SortField]},
    "order": {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 100},
    "cursor": {
        "type": "string",
        "pattern": "^([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)?$",
        "description": "From the previous page's Link (signed; empty means the first page)",
    },
}


def api_document(app: Litestar) -> Json:
    """The finished document of ``app``, built on first use."""
    document: Json | None = getattr(app.state, "api_document", None)
    if document is None:
        document = app.state.api_document = finish(app.openapi_schema.to_schema())
    return document


def finish(generated: Json) -> Json:
    document = copy.deepcopy(generated)
    components = document.setdefault("components", {})
    components["schemas"] = {**components.get("schemas", {}), **component_schemas()}
    components["headers"] = HEADERS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                _finish_operation(method, path, operation)
    return document


def component_schemas() -> Json:
    (_, schemas) = msgspec.json.schema_components(SHAPES, ref_template=REF)
    for enum in (Priority, Status):  # in the order they mean, and typed
        schemas[enum.__name__] |= {"type": "string", "enum": [member.value for member in enum]}
    schemas["Problem"]["properties"]["type"]["format"] = "uri"
    for schema in schemas.values():  # msgspec states no format for datetimes; ours are RFC 3339
        for name, prop in schema.get("properties", {}).items():
            if name.endswith("_at"):
                for branch in prop.get("anyOf", [prop]):
                    if branch.get("type") == "string":
                        branch["format"] = "date-time"
    # Changing the email needs the current password (a string, not null).
    schemas["ProfileBody"] |= {
        "dependentRequired": {"email": ["current_password"]},
        "if": {"required": ["email"]},
        "then": {"properties": {"current_password": {"type": "string"}}},
    }
    for name, examples in EXAMPLES.items():
        schemas[name]["examples"] = examples
    return dict(sorted(schemas.items()))


def _finish_operation(method: str, path: str, operation: Json) -> None:
    operation_id = OPERATION_IDS.get((method, path))
    if operation_id is None:
        raise LookupError(f"no operationId for {method.upper()} {path}: add it to OPERATION_IDS")
    operation["operationId"] = operation_id
    for parameter in operation.get("parameters", ()):
        _finish_parameter(parameter, operation_id)
    body = operation.get("requestBody")
    if body is not None:
        if (method, path) in OPTIONAL_BODIES:
            body["required"] = False
        if method == "patch":  # a JSON merge patch is this API's PATCH body too
            body["content"]["application/merge-patch+json"] = body["content"]["application/json"]
    if (method, path) in OPTIONAL_BEARER:
        operation["security"] = [{"bearer": []}, {}]
    responses: Json = operation["responses"]
    if responses.get("400", {}).get("description") != STATUS_DESCRIPTIONS[400]:
        # Litestar's own entry for parameter errors, which this API answers with 422.
        responses.pop("400", None)
    statuses = {int(status) for status in responses if status.isdigit() and int(status) >= 400}
    if body is not None:
        statuses.update(BODY_ERRORS)
    if path.startswith("/api/"):
        statuses.update(API_ERRORS)
    if operation.get("security") and (method, path) not in OPTIONAL_BEARER:
        statuses.update(BEARER_ERRORS)
    if "{task_id}" in path:
        statuses.add(404)
    statuses.update(EXTRA_ERRORS.get(operation_id, ()))
    for code in sorted(statuses):
        responses[str(code)] = _problem_response(code, api=path.startswith("/api/"))
    for key, response in responses.items():
        if key.startswith("2"):
            _finish_success(operation_id, response)
    if operation_id == "getReadiness":
        responses["200"]["content"]["application/json"]["schema"] = READINESS
    operation["responses"] = dict(sorted(responses.items()))
    if operation_id == "createTask":
        responses["201"]["links"] = _task_links()


def _finish_parameter(parameter: Json, operation_id: str) -> None:
    name = parameter["name"]
    schema = _without_null(parameter.get("schema", {}))
    if parameter["in"] == "path":
        schema = {"type": "string", "format": "uuid"}
        parameter["description"] = "The task's id (a malformed one is a 404, like an unknown one)"
    elif name == "If-Match":
        parameter["description"] = (
            'Write only if the task is at this version: an ETag such as `"3"`, a list of them, or'
            " `*`; otherwise 412"
        )
    elif operation_id == "listTasks" and name in LIST_PARAMETERS:
        schema = {**LIST_PARAMETERS[name], **_described(parameter)}
    elif operation_id == "clearCompletedTasks" and name == "status":
        schema = {"type": "string", "enum": ["completed"]}
        parameter["required"] = True
        parameter["description"] = "Must be `completed`: the tasks to delete"
    if schema.get("type") == "array":
        parameter["style"], parameter["explode"] = "form", True
    parameter["schema"] = schema
    for key in ("allowEmptyValue", "allowReserved", "deprecated"):
        parameter.pop(key, None)


def _described(parameter: Json) -> Json:
    description = parameter.get("description")
    return {"description": description} if description else {}


def _without_null(schema: Json) -> Json:
    """Litestar's ``oneOf [X, null]`` for an optional parameter is just ``X``."""
    options = [o for o in schema.get("oneOf", [schema]) if o.get("type") != "null"]
    if len(options) == 1:
        kept = {k: v for k, v in schema.items() if k != "oneOf"}
        return {**options[0], **kept}
    return schema


def _problem_response(status: int, *, api: bool) -> Json:
    response: Json = {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF.format(name="Problem")}}},
    }
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = _header("WWW-Authenticate", required=True)
    if status == 429 or (status == 503 and api):
        headers["Retry-After"] = _header("Retry-After", required=True)
    if headers:
        response["headers"] = headers
    return response


def _finish_success(operation_id: str, response: Json) -> None:
    headers = SUCCESS_HEADERS.get(operation_id, {})
    if headers:
        response["headers"] = {
            name: _header(name, required=required) for name, required in headers.items()
        }
    else:
        response.pop("headers", None)


def _header(name: str, *, required: bool) -> Json:
    reference: Json = {"$ref": f"#/components/headers/{name}"}
    return reference if not required else {**HEADERS[name], "required": True}


def _task_links() -> Json:
    """What a client can do next with the task it created (stateful tests chain these)."""
    parameters = {"task_id": "$response.body#/id"}
    return {
        name: {"operationId": operation_id, "parameters": parameters, "description": text}
        for name, operation_id, text in (
            ("GetTask", "getTask", "Read the created task"),
            ("UpdateTask", "updateTask", "Change fields of the created task"),
            ("PutTask", "putTask", "Change fields of the created task (PUT)"),
            ("CompleteTask", "completeTask", "Complete or reopen the created task"),
            ("DeleteTask", "deleteTask", "Delete the created task"),
        )
    }
