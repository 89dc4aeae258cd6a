"""Everything that can go wrong in the domain, independent of any transport."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of the errors a use case may raise on purpose."""


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(DomainError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field} {e.message}" for e in errors))
        self.errors = errors


class NotFound(DomainError):
    """A resource is missing, or belongs to somebody else: one error for both."""


class TaskNotFound(NotFound):
    pass


class VersionMismatch(DomainError):
    """An `If-Match` precondition named a version the task no longer has."""


class EmailTaken(DomainError):
    pass


class InvalidCredentials(DomainError):
    pass


class InvalidResetToken(DomainError):
    """A password reset token that is unknown, used already or expired."""


class InvalidToken(DomainError):
    """Something presented as a token that is not one of ours (forged, malformed, wrong claims).

    Its subclasses tell a client what to do next: refresh, log in again, or send credentials."""

    token_sent = True


class TokenExpired(InvalidToken):
    """An otherwise valid access token past its ``exp``: refresh, then retry."""


class SessionEnded(InvalidToken):
    """The session behind a token is gone (logged out, revoked, reused, expired, user deleted)."""


class AuthenticationRequired(InvalidToken):
    """No credentials at all."""

    token_sent = False


class NotYourAccount(DomainError):
    """A user-scoped path names an account other than the caller's."""


class TooManyAttempts(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (the database) cannot answer now; the request may be retried."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"unavailable; retry after {retry_after} s")
        self.retry_after = retry_after


class QuotaExceeded(DomainError):
    """A per-user limit on stored things (tasks) is reached."""
