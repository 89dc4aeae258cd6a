"""Text rules shared by every entity: NFC, trimming, code-point lengths."""

from __future__ import annotations

import unicodedata

from domain.errors import FieldError


def normalize(value: str) -> str:
    """NFC-normalise and trim Unicode whitespace (``str.strip`` trims exactly that)."""
    return unicodedata.normalize("NFC", value).strip()


def has_surrogates(value: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in value)


def control_characters(value: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def check_text(
    field: str,
    value: str,
    *,
    min_length: int,
    max_length: int,
    allowed_controls: frozenset[str] = frozenset(),
) -> tuple[str, FieldError | None]:
    """Normalise ``value`` and return it with the first rule it breaks, if any."""
    if has_surrogates(value):
        return value, FieldError(field, "must not contain unpaired surrogates")
    if "\x00" in value:
        return value, FieldError(field, "must not contain NUL characters")
    cleaned = normalize(value)
    if min_length and not cleaned:
        return cleaned, FieldError(field, "must not be blank")
    if len(cleaned) < min_length:
        return cleaned, FieldError(field, f"must be at least {min_length} characters")
    if len(cleaned) > max_length:
        return cleaned, FieldError(field, f"must be at most {max_length} characters")
    if control_characters(cleaned, allowed_controls):
        return cleaned, FieldError(field, "must not contain control characters")
    return cleaned, None


def fold_case(text: str) -> str:
    """Text as case-insensitive comparisons see it: each character lower-cased on its own, as
    PostgreSQL's ``lower()`` and ``ILIKE`` do (no context rule such as Greek final sigma, no
    ``ß`` to ``ss``), so both storages sort and search alike."""
    return "".join(map(str.lower, text))
