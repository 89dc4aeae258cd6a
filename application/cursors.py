"""Keyset cursors: where a page ended, signed and bound to the caller and the query.

A cursor is ``<payload>.<tag>``, both URL-safe base64 without padding. The payload holds the
last task's sort value and id; the tag is an HMAC-SHA256 over the payload, the caller's id and
the query (sort and filter), so a cursor that was edited, forged, truncated, issued for another
sort or filter, or issued to another user is refused before anything in it is trusted."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from domain.errors import FieldError, ValidationFailed
from domain.task_listing import Position, SortField, SortValue, TaskQuery

# The longest cursor issued: a title sort value of 255 code points (up to twice that once
# lower-cased) at four UTF-8 bytes each, in base64, plus the tag. Longer is refused unread.
MAX_CURSOR_LENGTH = 4096
_KEY_CONTEXT = b"todo/task-list-cursor/v1"
_B64_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed([FieldError("cursor", "is not a cursor of this listing")])


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict: only the URL-safe alphabet, and only the one spelling ``_b64encode`` gives
    (the lenient decoder skips stray characters and ignores trailing bits)."""
    if not _B64_TEXT.fullmatch(text):
        raise ValueError(text)
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64encode(data) != text:
        raise ValueError(text)
    return data


@dataclass(frozen=True, slots=True)
class CursorSigner:
    """Issues and checks cursors with a key of its own (derived, never the secret itself)."""

    key: bytes
    # The MAC keyed once: each tag starts from a copy, not from the key's two hashes.
    _keyed: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keyed", hmac.new(self.key, digestmod=hashlib.sha256))

    @classmethod
    def from_secret(cls, secret: bytes) -> CursorSigner:
        """A key for cursors only, derived from the application's signing secret."""
        return cls(hmac.new(secret, _KEY_CONTEXT, hashlib.sha256).digest())

    @classmethod
    def ephemeral(cls) -> CursorSigner:
        """A random key: its cursors are good for this instance only."""
        return cls(secrets.token_bytes(32))

    def _tag(self, caller_id: UUID, query: TaskQuery, payload: bytes) -> bytes:
        mac = self._keyed.copy()
        # Fixed-length caller id, then a length-prefixed query, then the payload: unambiguous.
        binding = repr(query).encode("utf-8", "backslashreplace")
        mac.update(caller_id.bytes)
        mac.update(len(binding).to_bytes(4, "big"))
        mac.update(binding)
        mac.update(payload)
        return mac.digest()

    def issue(self, caller_id: UUID, query: TaskQuery, position: Position) -> str:
        value = position.value
        raw = value.isoformat() if isinstance(value, date) else value
        payload = json.dumps([raw, position.id.hex], separators=(",", ":"), ensure_ascii=False)
        data = payload.encode("utf-8")
        return f"{_b64encode(data)}.{_b64encode(self._tag(caller_id, query, data))}"

    def read(self, caller_id: UUID, query: TaskQuery, cursor: str) -> Position:
        """Raises ``ValidationFailed`` naming ``cursor`` for any cursor not issued by
        ``issue`` for this caller and query."""
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise _bad_cursor()
        encoded_payload, encoded_tag = cursor.split(".")
        try:
            payload = _b64decode(encoded_payload)
            tag = _b64decode(encoded_tag)
        except (ValueError, binascii.Error):
            raise _bad_cursor() from None
        if not hmac.compare_digest(tag, self._tag(caller_id, query, payload)):
            raise _bad_cursor()
        # Signed by us: what follows only fails if the format changed under a live cursor.
        try:
            raw, task_id = json.loads(payload)
            return Position(_parse_value(query.sort.field, raw), UUID(hex=task_id))
        except (ValueError, TypeError, AttributeError) as error:
            raise _bad_cursor() from error


def _parse_value(field: SortField, raw: object) -> SortValue:
    if raw is None and field is SortField.DUE_DATE:
        return None
    match field:
        case SortField.CREATED_AT | SortField.UPDATED_AT if isinstance(raw, str):
            return datetime.fromisoformat(raw)
        case SortField.DUE_DATE if isinstance(raw, str):
            return date.fromisoformat(raw)
        case SortField.PRIORITY if isinstance(raw, int) and 1 <= raw <= 3:
            return raw
        case SortField.TITLE if isinstance(raw, str):
            return raw
    raise ValueError(raw)
