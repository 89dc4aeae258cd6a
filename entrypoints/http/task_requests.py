"""What a tasks request says beyond its body: the task id in the path, `If-Match`, the shape of
the query string, and the collection's own path for `Location` and `Link`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from uuid import UUID

from litestar import Request

from application.dto import TaskPage
from domain.errors import FieldError, TaskNotFound, ValidationFailed
from domain.task_listing import TaskQuery
from domain.task_queries import build_query
from entrypoints.http.guards import Connection
from entrypoints.http.query_errors import query_errors

MAX_VERSION = 2**31 - 1  # the column is a 32-bit integer
_MAX_VERSION_DIGITS = len(str(MAX_VERSION))
_OWS = " \t"  # the only whitespace HTTP allows around list elements
# Query parameters that may be given more than once, and how often; any other, once.
REPEATABLE_QUERY = frozenset({"priority", "tag", "category"})
BOOLEAN_QUERY = frozenset({"starred", "completed"})
MAX_QUERY_VALUES = 50
# A listing's filters and sort: ``build_query``'s parameters, by the query's names.
FILTER_AND_SORT = (
    *("status", "completed", "priority", "starred", "tag", "category", "due_before"),
    *("due_after", "q", "search", "sort", "sort_by", "order"),
)
LIST_QUERY = (*FILTER_AND_SORT, "limit", "cursor")
DEFAULT_LIMIT = 100  # tasks on a page
MAX_LIMIT = 200
_ACCEPTED_QUERY = "accepted_query"  # a route handler's ``opt`` key: the names it reads
VERSIONED_PREFIX = "/api/v1"
UNVERSIONED_PREFIX = "/api"
_SLASHES = re.compile(r"/{2,}")
_PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def listing_query(values: Mapping[str, Any]) -> TaskQuery:
    """The filters and sort of a listing's parsed parameters (``ValidationFailed`` if wrong)."""
    return build_query(**{name: values.get(name) for name in FILTER_AND_SORT})


def task_id_of(raw: str) -> UUID:
    """A malformed id names no task: 404, like any unknown one."""
    try:
        return UUID(raw)
    except ValueError:
        raise TaskNotFound() from None


def if_match_of(request: Request[Any, Any, Any]) -> str | None:
    """Every ``If-Match`` field line, combined into one list as HTTP defines it (the framework's
    header parameter sees only the first); ``None`` when there is none."""
    return if_match_in(request.scope["headers"])


def if_match_in(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """``if_match_of`` on the request's raw header lines."""
    lines = [value.decode("latin-1") for name, value in headers if name == b"if-match"]
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


def accepts_query(*names: str) -> dict[str, frozenset[str]]:
    """A route's ``opt``: the query parameters it reads (a route without it reads none)."""
    return {_ACCEPTED_QUERY: frozenset(names)}


async def query_shape(connection: Connection) -> None:
    """Only the route's own query parameters, each at most once, a repeatable one at most
    ``MAX_QUERY_VALUES`` times: checked in one pass before any value is parsed."""
    if not connection.scope.get("query_string"):
        return
    accepted = connection.route_handler.opt.get(_ACCEPTED_QUERY, frozenset())
    counts = Counter(name for name, _ in connection.query_params.multi_items())
    too_many = [
        FieldError(name, f"may be given at most {MAX_QUERY_VALUES} times")
        if name in REPEATABLE_QUERY
        else FieldError(name, "must be given at most once")
        for name, count in counts.items()
        if count > (MAX_QUERY_VALUES if name in REPEATABLE_QUERY else 1)
    ]
    unknown = [
        FieldError(name, "is not a query parameter of this route")
        for name in counts
        if name not in accepted
    ]
    # Litestar would also read 1, 0 and TRUE as booleans; the contract says true or false.
    unknown += [
        FieldError(name, "must be true or false")
        for name, value in connection.query_params.multi_items()
        if name in BOOLEAN_QUERY and name in accepted and value not in ("true", "false")
    ]
    if unknown and not too_many:
        # One answer names every problem: the known parameters' values too (bounded above).
        named = {e.field for e in unknown}
        unknown += [e for e in query_errors(connection) if e.field not in named]
    if unknown or too_many:
        raise ValidationFailed(unknown + too_many)


def collection_path(request: Request[Any, Any, Any]) -> str:
    """The tasks collection's path, built from the matched route, never copied from the request:
    ``/api/v1/tasks`` or ``/api/v1/{user_id}/tasks``, with the caller's id (checked by the
    route's guard) in canonical form, under the prefix the client used (``/api`` or ``/api/v1``)."""
    template: str = request.scope["path_template"].rstrip("/")
    path = _PATH_PARAMETER.sub(lambda m: _path_id(str(request.path_params[m[1]])), template)
    return under_prefix_sent(path, request.scope["state"].get("original_path", request.url.path))


def under_prefix_sent(path: str, original_path: str) -> str:
    """``path`` (under ``/api/v1``) under the prefix the client used."""
    sent = _SLASHES.sub("/", original_path)
    if not (sent == VERSIONED_PREFIX or sent.startswith(VERSIONED_PREFIX + "/")):
        return UNVERSIONED_PREFIX + path.removeprefix(VERSIONED_PREFIX)
    return path


def _path_id(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:  # an external caller's ``sub`` (the guard checked it): any text
        return quote(value, safe="")


def listing_headers(page: TaskPage, collection: str, query_string: bytes) -> dict[str, str]:
    """A page's ``X-Total-Count``, and its ``Link`` to the next page when one follows: the
    same query, its parameters in the order sent, with the next ``cursor``."""
    headers = {"X-Total-Count": str(page.total)}
    if page.next_cursor:
        sent = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        query = urlencode(
            [*((k, v) for k, v in sent if k != "cursor"), ("cursor", page.next_cursor)]
        )
        headers["Link"] = f'<{collection}?{query}>; rel="next"'
    return headers
