"""Which requests the hot routes take (``hot_routes.py``): those in their plain shape, told
from the query string and headers alone, before anything is read or done."""

from __future__ import annotations

import re
from typing import Any

from domain.task_listing import Status
from domain.tasks import Priority
from entrypoints.http.body import MAX_BODY_BYTES, media_type_problem
from entrypoints.http.middleware import first_header
from entrypoints.http.problems import HttpProblem
from entrypoints.http.task_requests import DEFAULT_LIMIT, MAX_LIMIT

Scope = dict[str, Any]

# A listing's query in its plain shape: these parameters, once each, with values that need no
# decoding. Anything else is the framework's to parse (and to refuse).
_PLAIN_LIST_PARAMETERS = frozenset(
    {"limit", "cursor", "status", "sort", "priority", "completed", "starred"}
)
_PLAIN_VALUE = re.compile(rb"[A-Za-z0-9_.,-]{1,1024}")
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
_BOOLEANS = {"true": True, "false": False}
_STATUSES = {status.value: status for status in Status}
_PRIORITIES = {priority.value: priority for priority in Priority}
_LENGTH = re.compile(rb"[0-9]{1,7}")


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


def _headers_named(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


def declared_length(scope: Scope) -> int | None:
    """The body's length, when the request declares it plainly (one ``Content-Length`` of
    digits, no ``Transfer-Encoding``); ``None`` otherwise."""
    if _headers_named(scope, b"transfer-encoding"):
        return None
    lengths = _headers_named(scope, b"content-length")
    if not lengths:
        return 0
    if len(lengths) != 1 or not _LENGTH.fullmatch(lengths[0]):
        return None
    return int(lengths[0])


def body_media_type_problem(scope: Scope) -> HttpProblem | None:
    """The 415 problem of the request's body, by its headers, if it has one."""
    return media_type_problem(
        first_header(scope, b"content-type") or "",
        first_header(scope, b"content-encoding") or "identity",
        scope["method"],
    )


def plain_json_body(scope: Scope) -> bool:
    """A non-empty JSON body within the limit, by its declared length and media type."""
    length = declared_length(scope)
    return (
        length is not None
        and 0 < length <= MAX_BODY_BYTES
        and body_media_type_problem(scope) is None
    )
