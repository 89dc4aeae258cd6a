"""Rate limits over the `limits` library: in process memory, or shared through Redis."""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)


def limits_storage(redis_url: str | None) -> Storage:
    uri = f"async+{redis_url}" if redis_url else "async+memory://"
    storage = storage_from_string(uri)
    assert isinstance(storage, Storage)
    return storage


class RateLimiter:
    """One limit (e.g. ``5/15 minutes``) applied per key; keys are hashed before storage."""

    def __init__(self, storage: Storage, limit: str, namespace: str) -> None:
        self._item: RateLimitItem = parse(limit)
        self._strategy = MovingWindowRateLimiter(storage)
        self._namespace = namespace

    def _key(self, key: str) -> str:
        return hashlib.sha256(
            f"{self._namespace}:{key}".encode("utf-8", "surrogatepass")
        ).hexdigest()

    async def hit(self, key: str) -> int | None:
        """Count one request; seconds to wait if it went over the limit, else ``None``."""
        try:
            if await self._strategy.hit(self._item, self._key(key)):
                return None
            return await self._retry_after(key)
        except Exception:  # a broken limiter store must not take logins down with it
            log.exception("rate limit store unavailable; allowing the request")
            return None

    async def blocked_for(self, key: str) -> int | None:
        try:
            if await self._strategy.test(self._item, self._key(key)):
                return None
            return await self._retry_after(key)
        except Exception:
            log.exception("rate limit store unavailable; allowing the request")
            return None

    async def record_failure(self, key: str) -> None:
        await self.hit(key)

    async def reset(self, key: str) -> None:
        try:
            await self._strategy.clear(self._item, self._key(key))
        except Exception:
            log.exception("rate limit store unavailable; could not reset")

    async def _retry_after(self, key: str) -> int:
        stats = await self._strategy.get_window_stats(self._item, self._key(key))
        return max(1, math.ceil(stats.reset_time - time.time()))
