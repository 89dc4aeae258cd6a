"""What accounts and sessions need beyond storage, as small role interfaces: tokens,
password hashing, attempt limits, mail, and the external issuers' keys and accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from application.ports import AccessClaims, ExternalCaller
from domain.users import User


class RefreshTokens(Protocol):
    """Mints and reads refresh tokens: opaque, 256 random bits, naming their session in a form
    only this service can produce. Only the hash is stored."""

    def issue(self, session_id: UUID) -> tuple[str, bytes]:
        """A new token for ``session_id``, and the hash to store."""

    def read(self, token: str) -> tuple[UUID, bytes] | None:
        """The session a genuine token names and its hash; ``None`` for anything else."""


class ResetTokens(Protocol):
    """Mints password reset tokens (≥ 256 random bits) and hashes presented ones; only the
    hash is stored."""

    def issue(self) -> tuple[str, bytes]:
        """A new token, and the hash to store."""

    def hash_of(self, token: str) -> bytes | None:
        """The stored form of a token of the issued shape; ``None`` for anything else."""


class AccountMail(Protocol):
    """Mail to account holders. Sending happens in the background: a call returns at once,
    so a slow or failing mail server never holds up the request (or tells whether an address
    has an account)."""

    def send_password_reset(self, user: User, token: str, valid_for: timedelta) -> None: ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so unknown emails are not revealed."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class PasswordBlocklist(Protocol):
    def __contains__(self, password: str) -> bool: ...


class TokenIssuer(Protocol):
    @property
    def access_lifetime_seconds(self) -> int: ...

    def issue_access(self, user_id: UUID, session_id: UUID, now: datetime) -> str: ...


class TokenVerifier(Protocol):
    def verify_access(self, token: str) -> AccessClaims:
        """Raises ``InvalidToken`` for anything but a valid access token of this service."""


class ExternalTokenVerifier(Protocol):
    """Tokens of external issuers (Better Auth front ends), routed by their ``iss``."""

    async def verify(self, token: str) -> ExternalCaller | None:
        """``None`` when the token does not claim an issuer this verifier accepts. Raises
        ``InvalidToken`` (``TokenExpired`` for an otherwise valid token past its ``exp``) for
        a bad one, ``Unavailable`` when its issuer's keys cannot be had at all."""


@dataclass(frozen=True, slots=True)
class Jwks:
    """A JSON Web Key Set as its publisher served it, and how long it may be cached."""

    keys: list[dict[str, object]]
    max_age: int | None  # seconds, from ``Cache-Control: max-age``


class JwksSource(Protocol):
    async def fetch(self) -> Jwks:
        """Raises ``Unavailable`` when the set cannot be fetched (unreachable, slow, not a
        JSON Web Key Set)."""


@dataclass(frozen=True, slots=True)
class ExternalAccount:
    user_id: UUID
    session_id: UUID


class ExternalAccounts(Protocol):
    async def link(self, caller: ExternalCaller) -> ExternalAccount:
        """The local account of (issuer, subject), created on first use with its session in
        one step that concurrent first uses agree on. Never matched by email: an external
        account is a user of its own. The email and name the caller brings are stored."""


class AttemptLimiter(Protocol):
    """Counts attempts per key and blocks the key once a limit is reached."""

    async def hit(self, key: str) -> int | None:
        """Count one attempt for ``key`` atomically, before its outcome is known: ``None``
        when it is within the limit, else the seconds until ``key`` may try again (an attempt
        over the limit is not counted)."""

    async def reset(self, key: str) -> None: ...


class ResetRequestLimiter(AttemptLimiter, Protocol):
    """Password reset requests per email (3/hour): a limit of its own, beside login's."""
