"""Password reset tokens: 256 random bits, base64url; the database keeps a SHA-256 hash only.

Unlike refresh tokens they name nothing: a token is looked up by its hash, and a reset mailed
to somebody is all it is good for, once.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_RANDOM_BYTES = 32
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, unpadded


class RandomResetTokens:
    def issue(self) -> tuple[str, bytes]:
        token = secrets.token_urlsafe(_RANDOM_BYTES)
        return token, _stored_hash(token)

    def hash_of(self, token: str) -> bytes | None:
        # Anything else was never issued: no look-up for it.
        return _stored_hash(token) if _SHAPE.fullmatch(token) else None


def _stored_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()
