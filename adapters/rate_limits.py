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


# Hits are kept per tenth of a second: a key's memory is bounded by its window, not by the rate
# (a sliding log of every hit held a busy user's whole minute, 8 MiB at 4,000 requests/s).
TICK_SECONDS = 0.1


class _HitLog:
    """A key's hits inside its window: (tick, hits in it), oldest first, and their total."""

    __slots__ = ("ticks", "total", "window")

    def __init__(self, window: float) -> None:
        self.window = window
        self.ticks: deque[list[float]] = deque()
        self.total = 0

    def expire(self, now: float) -> None:
        while self.ticks and self.ticks[0][0] <= now - self.window:
            self.total -= int(self.ticks.popleft()[1])

    def add(self, now: float) -> None:
        tick = math.floor(now / TICK_SECONDS) * TICK_SECONDS
        if self.ticks and self.ticks[-1][0] == tick:
            self.ticks[-1][1] += 1
        else:
            self.ticks.append([tick, 1])
        self.total += 1


class MemoryWindows:
    """Moving windows in this process's memory: per key, the hits still inside the window, by
    the tenth of a second they came in (a hit leaves the window up to that much early). Written
    here because the `limits` memory storage keeps every hit's time and expires keys with a
    thread per key (and, when a key is cleared meanwhile, fails in a task nobody awaits)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._logs: dict[str, _HitLog] = {}
        self._clock = clock
        self._sweep_at = clock() + SWEEP_SECONDS

    def _log(self, item: RateLimitItem, identifier: str, now: float) -> _HitLog:
        key = item.key_for(identifier)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _HitLog(item.get_expiry())
        log.expire(now)
        return log

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        now = self._clock()
        self._sweep(now)
        log = self._log(item, identifiers[0], now)
        if log.total >= item.amount:
            return False
        log.add(now)
        return True

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self._logs.pop(item.key_for(identifiers[0]), None)

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        now = self._clock()
        log = self._log(item, identifiers[0], now)
        reset = log.ticks[0][0] + log.window if log.ticks else now
        return WindowStats(reset, item.amount - log.total)

    def _sweep(self, now: float) -> None:
        """Drop keys whose every hit has left its window: memory follows the active keys."""
        if now < self._sweep_at:
            return
        self._sweep_at = now + SWEEP_SECONDS
        idle = [
            key
            for key, log in self._logs.items()
            if not log.ticks or log.ticks[-1][0] <= now - log.window
        ]
        for key in idle:
            del self._logs[key]


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
