"""Text rules shared by every entity: NFC, trimming, code-point lengths."""

from __future__ import annotations

import unicodedata

from domain.errors import FieldError

# Unicode's White_Space property. Not ``str.strip()``'s set, which also takes U+001C..U+001F
# (control characters that must be refused, not trimmed away).
WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def normalize(value: str) -> str:
    """NFC-normalise and trim Unicode whitespace."""
    return unicodedata.normalize("NFC", value).strip(WHITE_SPACE)


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
