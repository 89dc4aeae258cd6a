"""Rate limits over the `limits` library: in process memory, or shared through Redis.

With Redis configured, every count goes to Redis while it answers. When it does not, the counts
go to this process's memory instead — a limit per process, never no limit — an error is logged
once for the outage, and Redis is tried again every few seconds (and by each readiness probe)
until it answers; from then on the counts are shared again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import NewType, Protocol, TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from limits.util import WindowStats

from adapters import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# One Redis call may take this long before the memory fallback answers instead.
REDIS_TIMEOUT_SECONDS = 1.0
# While Redis is unreachable, one request tries it again this often; the others use memory.
REDIS_RETRY_SECONDS = 5.0
DEGRADED = "unreachable; rate limits are counted per process until it answers"

# Forget keys idle for a whole window at most this often.
SWEEP_SECONDS = 60.0


class Windows(Protocol):
    """The part of a `limits` moving-window strategy the limiters use."""

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool: ...

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None: ...

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats: ...


Operation = Callable[[Windows], Awaitable[T]]


class MemoryWindows:
    """Moving windows in this process's memory: per key, the times of the hits still inside
    the window (at most the limit's amount). Written here because the `limits` memory storage
    expires keys with a thread per key and, when a key is cleared meanwhile, fails in a task
    nobody awaits (an ERROR log line after every successful login)."""

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._sweep_at = time.monotonic() + SWEEP_SECONDS

    def _log(self, item: RateLimitItem, identifier: str, now: float) -> deque[float]:
        key = item.key_for(identifier)
        window = item.get_expiry()
        _, hits = self._hits.setdefault(key, (window, deque()))
        while hits and hits[0] <= now - window:
            hits.popleft()
        return hits

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        now = time.time()
        self._sweep()
        hits = self._log(item, identifiers[0], now)
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        return True

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self._hits.pop(item.key_for(identifiers[0]), None)

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        now = time.time()
        hits = self._log(item, identifiers[0], now)
        reset = hits[0] + item.get_expiry() if hits else now
        return WindowStats(reset, item.amount - len(hits))

    def _sweep(self) -> None:
        """Drop keys whose every hit has left its window: memory follows the active keys."""
        if time.monotonic() < self._sweep_at:
            return
        self._sweep_at = time.monotonic() + SWEEP_SECONDS
        now = time.time()
        idle = [
            k for k, (window, hits) in self._hits.items() if not hits or hits[-1] <= now - window
        ]
        for key in idle:
            del self._hits[key]


class LimitStore:
    """Where the counts live: Redis when configured and answering, else this process's memory."""

    def __init__(
        self,
        redis_url: str | None,
        *,
        timeout: float = REDIS_TIMEOUT_SECONDS,
        retry_interval: float = REDIS_RETRY_SECONDS,
    ) -> None:
        self._memory: Windows = MemoryWindows()
        self._redis_storage: Storage | None = None
        self._redis: Windows | None = None
        if redis_url:
            storage = storage_from_string(
                f"async+{redis_url}", connect_timeout=timeout, stream_timeout=timeout
            )
            assert isinstance(storage, Storage)
            self._redis_storage = storage
            self._redis = MovingWindowRateLimiter(storage)
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._down = False
        self._retry_at = 0.0

    @property
    def degraded(self) -> str | None:
        """Why the limits are not shared right now, or ``None`` when all is as configured."""
        return DEGRADED if self._down else None

    async def run(self, operation: Operation[T]) -> T:
        """``operation`` on Redis when it answers, else on memory; never fails for Redis."""
        redis = self._redis
        if redis is None:
            return await operation(self._memory)
        if self._down:
            now = time.monotonic()
            if now < self._retry_at:
                return await operation(self._memory)
            self._retry_at = now + self._retry_interval  # this request tries; others wait
        try:
            async with asyncio.timeout(self._timeout):
                result = await operation(redis)
        except Exception as error:  # whatever Redis does, the limit still applies
            self._went_down(error)
            return await operation(self._memory)
        self._came_back()
        return result

    async def check(self) -> str | None:
        """Ask Redis now (for readiness); the reason the limits are degraded, or ``None``."""
        if self._redis_storage is None:
            return None
        try:
            async with asyncio.timeout(self._timeout):
                answers = await self._redis_storage.check()
        except Exception as error:
            self._went_down(error)
        else:
            if answers:
                self._came_back()
            else:
                self._went_down(ConnectionError("no answer to PING"))
        return self.degraded

    def _went_down(self, error: Exception) -> None:
        if self._down:
            return
        self._down = True
        self._retry_at = time.monotonic() + self._retry_interval
        # The type only: a message may name the server, never anything the limits count.
        log.error(
            "rate limit store (Redis) unreachable; counting in this process's memory until it"
            " answers",
            extra={"error": type(error).__name__},
        )

    def _came_back(self) -> None:
        if self._down:
            self._down = False
            log.warning("rate limit store (Redis) answers again; limits are shared again")


class RateLimiter:
    """One limit (e.g. ``5/15 minutes``) applied per key; keys are hashed before storage."""

    def __init__(self, store: LimitStore, limit: str, namespace: str) -> None:
        self._item: RateLimitItem = parse(limit)
        self._store = store
        self._namespace = namespace

    def _key(self, key: str) -> str:
        return hashlib.sha256(
            f"{self._namespace}:{key}".encode("utf-8", "surrogatepass")
        ).hexdigest()

    def storage_key(self, key: str) -> str:
        """Where ``key``'s count is kept (after the store's own prefix, ``LIMITS:`` in Redis)."""
        return self._item.key_for(self._key(key))

    async def hit(self, key: str) -> int | None:
        """Count one request atomically; seconds to wait if it went over (then it is not
        counted), else ``None``."""
        hashed = self._key(key)

        async def hit(strategy: Windows) -> int | None:
            if await strategy.hit(self._item, hashed):
                return None
            return await self._retry_after(strategy, hashed)

        return await self._store.run(hit)

    async def reset(self, key: str) -> None:
        hashed = self._key(key)

        async def clear(strategy: Windows) -> None:
            await strategy.clear(self._item, hashed)

        await self._store.run(clear)

    async def _retry_after(self, strategy: Windows, hashed: str) -> int:
        metrics.rate_limited.labels(self._namespace).inc()  # refusals only: off the common path
        stats = await strategy.get_window_stats(self._item, hashed)
        return max(1, math.ceil(stats.reset_time - time.time()))


# One class, several limits: each has a key of its own in the container.
AuthRequestLimiter = NewType("AuthRequestLimiter", RateLimiter)  # per client IP: register, login
ApiRequestLimiter = NewType("ApiRequestLimiter", RateLimiter)  # API_RATE_LIMIT: user or IP
