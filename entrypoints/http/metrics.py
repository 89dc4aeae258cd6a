"""Prometheus metrics: request counts and latencies by route template, pool use, and the
security counters of ``adapters/metrics.py``.

With several workers (``todo serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before it starts them)
every worker writes its values to files there, and whichever worker answers ``/metrics`` sums
them all: one consistent view. A request still costs one counter increment and one histogram
observation, in either mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client import values as prometheus_values

from adapters import metrics as events

PoolReading = Callable[[], dict[str, int]]
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# How often each worker writes its pool reading (in multiprocess mode the other workers'
# readings are this old at most; a single process reads its own pool at every scrape).
POOL_SAMPLE_SECONDS = 5.0
# The message application/auth.py logs when a rotated refresh token comes back.
REUSE_LOG_PREFIX = "refresh token reused"
MAX_CACHED_SERIES = 1024


class _ReuseCounter(logging.Handler):
    """The application logs a reused refresh token as a security event and knows nothing of
    metrics; this counts those records (so the counter needs LOG_LEVEL at WARNING or lower)."""

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(REUSE_LOG_PREFIX):
            events.refresh_token_reuse.inc()


def _count_reuse() -> None:
    security = logging.getLogger("todo.security")
    if not any(isinstance(h, _ReuseCounter) for h in security.handlers):
        security.addHandler(_ReuseCounter())


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


class HttpMetrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        if self.multiprocess and prometheus_values.ValueClass is prometheus_values.MutexValue:
            # prometheus_client chose its storage when first imported, before the variable.
            raise RuntimeError(f"{MULTIPROCESS_ENV} was set after prometheus_client was imported")
        self.registry = CollectorRegistry()
        labels = ["route", "method", "status"]
        self._requests = Counter(
            "http_requests_total", "HTTP requests", labels, registry=self.registry
        )
        self._duration = Histogram(
            "http_request_duration_seconds", "HTTP request latency", labels, registry=self.registry
        )
        # Summed over the live workers in multiprocess mode.
        self._pool = Gauge(
            "db_pool_connections",
            "Database pool connections by state (checked_out, idle, size)",
            ["state"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._read_pool: PoolReading | None = None
        self._sampler: asyncio.Task[None] | None = None
        _count_reuse()

    def watch_pool(self, reading: PoolReading) -> None:
        self._read_pool = reading
        self.sample_pool()

    def sample_pool(self) -> None:
        if self._read_pool is not None:
            for state, value in self._read_pool().items():
                self._pool.labels(state).set(value)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        if (series := self._series.get(key)) is None:
            # ``labels()`` takes a lock and builds tuples on every call: look the pair up once.
            # Routes are templates, so this stays small; a client inventing methods cannot
            # grow it past the cap.
            labels = (route, method, str(status))
            series = (self._requests.labels(*labels), self._duration.labels(*labels))
            if len(self._series) < MAX_CACHED_SERIES:
                self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> bytes:
        self.sample_pool()
        if self.multiprocess:
            merged = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry) + generate_latest(events.REGISTRY)

    def start_sampling(self) -> None:
        """In multiprocess mode, write this worker's pool reading every few seconds, so that a
        scrape answered by another worker sees it (a single process reads it at the scrape)."""
        if self.multiprocess and self._read_pool is not None and self._sampler is None:
            self._sampler = asyncio.create_task(self._sample_every(POOL_SAMPLE_SECONDS))

    async def _sample_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.sample_pool()

    async def stop(self) -> None:
        """This worker is going away: no more samples, and its pool gauges leave the sum."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        if self.multiprocess:
            prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
