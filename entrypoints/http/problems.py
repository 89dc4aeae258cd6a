"""RFC 9457 problem details: the one table from errors to HTTP answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from adapters import metrics as events
from domain.errors import (
    AuthenticationRequired,
    EmailTaken,
    FieldError,
    InvalidCredentials,
    InvalidResetToken,
    InvalidToken,
    NotFound,
    NotYourAccount,
    QuotaExceeded,
    SessionEnded,
    TokenExpired,
    TooManyAttempts,
    Unavailable,
    ValidationFailed,
    VersionMismatch,
)
from entrypoints.http.methods import allow_header

PROBLEM_MEDIA_TYPE = "application/problem+json"
CLIENT_GONE = "client_disconnected"  # set in the request state when the client hung up
TYPE_BASE = "https://todo.dev/problems/"
log = logging.getLogger("todo.errors")


class ProblemError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[ProblemError] | None = None
    checks: dict[str, str] | None = None


@dataclass(slots=True)
class HttpProblem(Exception):
    """An error the HTTP layer raises itself (bad body, wrong media type, …)."""

    status: int
    slug: str
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] | None = None


def malformed_body(detail: str) -> HttpProblem:
    return HttpProblem(400, "malformed-body", "Malformed request body", detail)


def unsupported_media_type(detail: str) -> HttpProblem:
    return HttpProblem(415, "unsupported-media-type", "Unsupported media type", detail)


def validation_problem(errors: list[FieldError]) -> HttpProblem:
    detail = "; ".join(f"{e.field} {e.message}" if e.field else e.message for e in errors)
    return HttpProblem(422, "validation", "Request validation failed", detail, errors)


@dataclass(frozen=True, slots=True)
class _Fixed:
    """The problem an error that carries no data always is."""

    status: int
    slug: str
    title: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    def problem(self) -> HttpProblem:
        return HttpProblem(self.status, self.slug, self.title, self.detail, [], dict(self.headers))


def _unauthorized(slug: str, title: str, detail: str, challenge: str) -> _Fixed:
    return _Fixed(401, slug, title, detail, (("WWW-Authenticate", challenge),))


_BAD_TOKEN = 'Bearer error="invalid_token"'  # noqa: S105 - a challenge, not a secret
_NOT_FOUND = _Fixed(404, "not-found", "Resource not found", "The resource does not exist.")
# Errors that carry no data, by class (a subclass finds its base's entry).
_FIXED: dict[type[Exception], _Fixed] = {
    NotFound: _NOT_FOUND,
    NotFoundException: _NOT_FOUND,
    VersionMismatch: _Fixed(
        412,
        "precondition-failed",
        "Precondition failed",
        "If-Match does not match the current version of the task.",
    ),
    QuotaExceeded: _Fixed(
        409,
        "quota-exceeded",
        "Quota exceeded",
        "You have as many tasks as an account may hold; delete some first.",
    ),
    EmailTaken: _Fixed(409, "email-taken", "Email already registered", "That email is taken."),
    InvalidResetToken: _Fixed(
        400,
        "invalid-reset-token",
        "Invalid reset token",
        "The password reset link is invalid, used already or expired; ask for a new one.",
    ),
    # 401s: the type tells a client what to do next (refresh, log in again, send credentials).
    InvalidCredentials: _unauthorized(
        "invalid-credentials", "Invalid credentials", "The email or password is wrong.", "Bearer"
    ),
    TokenExpired: _unauthorized(
        "token-expired",
        "Token expired",
        "The access token has expired; refresh it and retry.",
        _BAD_TOKEN + ', error_description="expired"',
    ),
    SessionEnded: _unauthorized(
        "session-ended", "Session ended", "The session has ended; log in again.", _BAD_TOKEN
    ),
    AuthenticationRequired: _unauthorized(
        "authentication-required",
        "Authentication required",
        "A valid access token is required.",
        "Bearer",
    ),
    InvalidToken: _unauthorized(
        "invalid-token", "Invalid token", "The token is invalid.", _BAD_TOKEN
    ),
    NotYourAccount: _Fixed(403, "forbidden", "Forbidden", "That account is not yours."),
}
_INTERNAL = _Fixed(
    HTTP_500_INTERNAL_SERVER_ERROR,
    "internal",
    "Internal server error",
    "Something went wrong on our side; quote the request_id when reporting it.",
)


def to_problem(exc: Exception) -> HttpProblem:
    """Translate any exception into the problem it shows the client: by the table above, or
    here for the errors whose problem depends on what they carry."""
    for cls in type(exc).__mro__:
        if (fixed := _FIXED.get(cls)) is not None:
            return fixed.problem()
    match exc:
        case HttpProblem():
            return exc
        case ValidationFailed():
            return validation_problem(exc.errors)
        case TooManyAttempts() | Unavailable():
            status, slug, title = (
                (429, "rate-limited", "Too many requests")
                if isinstance(exc, TooManyAttempts)
                else (503, "unavailable", "Service unavailable")
            )
            return HttpProblem(
                status,
                slug,
                title,
                f"Try again in {exc.retry_after} seconds.",
                headers={"Retry-After": str(exc.retry_after)},
            )
        case MethodNotAllowedException():
            return HttpProblem(
                405,
                "method-not-allowed",
                "Method not allowed",
                "The resource does not support this method.",
                headers={"Allow": allow_header((exc.headers or {}).get("allow", "").split(","))},
            )
        case ValidationException():
            return validation_problem(_litestar_field_errors(exc))
        case HTTPException() if exc.status_code < 500:
            slug = {413: "body-too-large", 400: "bad-request"}.get(exc.status_code, "client-error")
            title = {413: "Request body too large"}.get(exc.status_code, "Bad request")
            detail = exc.detail if exc.status_code != 413 else "Bodies are limited to 1 MiB."
            # The rest of a refused body may still be on the connection: it cannot carry
            # another request, so the client is told it closes.
            headers = {"Connection": "close"} if exc.status_code == 413 else {}
            return HttpProblem(exc.status_code, slug, title, str(detail), headers=headers)
    return _INTERNAL.problem()


def _litestar_field_errors(exc: ValidationException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        FieldError(str(item.get("key", "")), str(item.get("message", "is invalid")))
        for item in extra
        if isinstance(item, dict)
    ]
    return errors or [FieldError("", str(exc.detail))]


def problem_document(problem: HttpProblem, *, instance: str, request_id: str) -> Problem:
    return Problem(
        type=TYPE_BASE + problem.slug,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=instance,
        request_id=request_id,
        errors=[ProblemError(e.field, e.message) for e in problem.errors] or None,
        checks=problem.checks,
    )


def problem_response(request: Request[Any, Any, Any], problem: HttpProblem) -> Response[Problem]:
    state = request.scope.get("state", {})
    body = problem_document(
        problem,
        instance=state.get("original_path", request.url.path),
        request_id=state.get("request_id", ""),
    )
    return Response(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=problem.headers
    )


CLIENT_CLOSED_REQUEST = 499  # nginx's name for it: nobody is left to read the answer


def count_event(exc: Exception) -> None:
    """The security counters for events that surface as errors (``adapters/metrics.py``)."""
    if isinstance(exc, InvalidCredentials):
        events.login_failures.inc()
    elif isinstance(exc, QuotaExceeded):
        events.quota_refusals.labels("tasks").inc()


def problem_of(exc: Exception, request_id: str) -> HttpProblem:
    """The problem ``exc`` shows the client, counted and logged as it deserves."""
    count_event(exc)
    problem = to_problem(exc)
    if problem.status == 503:
        log.warning("unavailable: %s", type(exc.__cause__ or exc).__name__)
    elif problem.status >= 500:
        log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    return problem


def client_gone(state: dict[str, Any]) -> bool:
    """Whether the client hung up: then nobody reads the answer, and nothing went wrong."""
    if state.get(CLIENT_GONE):
        log.info("client disconnected before the response")
        return True
    return False


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    state = request.scope.get("state", {})
    if client_gone(state):
        return Response(b"", status_code=CLIENT_CLOSED_REQUEST)
    return problem_response(request, problem_of(exc, state.get("request_id", "")))


STATUS_DESCRIPTIONS = {
    400: "Malformed JSON (password reset: also an invalid, used or expired token)",
    401: "Missing, invalid or revoked credentials",
    403: "Another user's account",
    404: "No such resource (or not yours)",
    408: "The body did not arrive within BODY_TIMEOUT seconds; the connection is closed",
    409: "Conflicts with what is stored (see `type`: email-taken, quota-exceeded)",
    412: "If-Match does not match the current version",
    413: "Body larger than 1 MiB",
    415: "Body is not JSON (application/json; on PATCH also application/merge-patch+json)",
    422: "Validation failed; `errors` names each field",
    429: "Rate limited; see Retry-After",
    503: "Temporarily unavailable; see Retry-After",
}


def documented(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a handler can give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=STATUS_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }
