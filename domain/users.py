"""Accounts: the user entity and the rules for emails, names and passwords."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import idna
from email_validator import EmailNotValidError, validate_email

from domain.errors import FieldError
from domain.text import check_text, has_surrogates, normalize

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
NAME_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    email: str
    name: str | None
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """One login: the refresh tokens of a device, revocable as a whole."""

    id: UUID
    user_id: UUID
    created_at: datetime
    expires_at: datetime


def email_key(email: str) -> str:
    """The form emails are compared in: the local part case-folded (NFC), the domain in its IDNA
    ASCII form after UTS #46 mapping, so ``a@exämple.com``, ``a@EXÄMPLE.com`` and
    ``a@xn--exmple-cua.com`` are one account. A domain IDNA cannot encode (only in text that is
    no valid email, such as a login attempt) is compared case-folded instead: never an error.

    The migration ``*_idn_email_keys`` inlines this rule for stored accounts: change both."""
    cleaned = normalize(email)
    if cleaned.isascii():  # the common case: IDNA maps an ASCII domain to its lower case
        return cleaned.lower()
    local, at, domain = cleaned.rpartition("@")
    if not at:
        return cleaned.casefold()
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
        ascii_domain = domain.casefold()
    return f"{local.casefold()}@{ascii_domain}"


def check_email(email: str) -> tuple[str, FieldError | None]:
    cleaned, error = check_text("email", email, min_length=1, max_length=254)
    if error:
        return cleaned, error
    try:
        # Syntax only: no DNS, and ``.test`` (RFC 2606's name for testing) is an address too.
        validate_email(cleaned, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return cleaned, FieldError("email", "is not a valid email address")
    return cleaned, None


def check_name(name: str) -> tuple[str, FieldError | None]:
    return check_text("name", name, min_length=1, max_length=NAME_MAX_LENGTH)


def normalize_password(password: str) -> str:
    """Passwords are compared in NFC and never trimmed or truncated."""
    if has_surrogates(password):
        return password
    return unicodedata.normalize("NFC", password)


def check_password(password: str, email: str, *, is_common: bool) -> FieldError | None:
    if has_surrogates(password) or "\x00" in password:
        return FieldError("password", "must not contain NUL characters or unpaired surrogates")
    if len(password) < PASSWORD_MIN_LENGTH:
        return FieldError("password", f"must be at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        return FieldError("password", f"must be at most {PASSWORD_MAX_LENGTH} characters")
    if password.casefold() == email_key(email):
        return FieldError("password", "must not be the same as the email")
    if is_common:
        return FieldError("password", "is too common; choose a less guessable password")
    return None
