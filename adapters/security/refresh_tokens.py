"""Refresh tokens that name their session, in a form only this service can produce.

A token is 256 random bits, the session id and a MAC over both, base64url-encoded. The session
keeps the hash of its current token only: a genuine token (valid MAC) that is not the current
one was rotated already, so presenting it is reuse — detected without keeping every token ever
issued, so storage does not grow with rotations.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from uuid import UUID

_RANDOM_BYTES = 32
_ID_BYTES = 16
_MAC_BYTES = 16
_TOKEN_BYTES = _ID_BYTES + _RANDOM_BYTES + _MAC_BYTES
_TOKEN_CHARS = 86  # base64url of 64 bytes, unpadded


class MacRefreshTokens:
    def __init__(self, secret: bytes) -> None:
        # A key of its own, derived from the signing secret: a MAC here is no JWT signature.
        self._key = hmac.new(secret, b"todo refresh tokens v1", hashlib.sha256).digest()

    def issue(self, session_id: UUID) -> tuple[str, bytes]:
        body = session_id.bytes + secrets.token_bytes(_RANDOM_BYTES)
        raw = body + self._mac(body)
        return _encode(raw), _stored_hash(raw)

    def read(self, token: str) -> tuple[UUID, bytes] | None:
        if len(token) != _TOKEN_CHARS or not token.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "==")
        except (binascii.Error, ValueError):
            return None
        if _encode(raw) != token:  # one spelling per token: no lenient alphabet, no stray bits
            return None
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(raw) != _TOKEN_BYTES or not hmac.compare_digest(mac, self._mac(body)):
            return None
        return UUID(bytes=body[:_ID_BYTES]), _stored_hash(raw)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _stored_hash(raw: bytes) -> bytes:
    """What the database keeps: a hash of the decoded bytes (one form per token)."""
    return hashlib.sha256(raw).digest()
