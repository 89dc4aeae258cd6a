"""Opaque keyset cursors: where a page ended, bound to the query that produced it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date, datetime
from uuid import UUID

from domain.errors import FieldError, ValidationFailed
from domain.tasks import Position, SortField, SortValue, TaskQuery

_BAD_CURSOR = ValidationFailed([FieldError("cursor", "is not a cursor of this listing")])


def _fingerprint(query: TaskQuery) -> str:
    return hashlib.sha256(repr(query).encode()).hexdigest()[:16]


def encode_cursor(query: TaskQuery, position: Position) -> str:
    value = position.value
    raw = value.isoformat() if isinstance(value, date) else value
    payload = {"q": _fingerprint(query), "v": raw, "i": str(position.id)}
    data = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_cursor(query: TaskQuery, cursor: str) -> Position:
    """Raises ``ValidationFailed`` for a forged cursor or one from another sort or filter."""
    try:
        data = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(data)
        if payload["q"] != _fingerprint(query):
            raise _BAD_CURSOR
        return Position(_parse_value(query.sort.field, payload["v"]), UUID(payload["i"]))
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as error:
        raise _BAD_CURSOR from error


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
