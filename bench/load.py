"""A closed-loop load generator: N workers, each sending its next request when one returns."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
MAX_ERROR_SAMPLES = 3


@dataclass(frozen=True)
class Budget:
    """A scenario stops at ``requests`` sent or ``seconds`` elapsed, whichever comes first."""

    requests: int
    seconds: float
    concurrency: int


@dataclass
class Measurement:
    scenario: str
    storage: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # server, client, database

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        """Everything but a 2xx; a transport failure counts as status 0."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]

    def as_dict(self) -> dict[str, Any]:
        cpu = {part: round(self.cpu_ms_per_request(part), 3) for part in self.cpu_seconds}
        return {
            "scenario": self.scenario,
            "storage": self.storage,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "cpu_ms_per_request": cpu,
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "error_samples": self.error_samples,
        }

    def cpu_ms_per_request(self, part: str) -> float:
        seconds = self.cpu_seconds.get(part, 0.0)
        return 1000 * seconds / self.requests if self.requests else 0.0


async def drive(
    client: httpx.AsyncClient, send: Send, budget: Budget, measurement: Measurement
) -> Measurement:
    """Run ``send`` from ``budget.concurrency`` workers until the budget is spent."""
    sequence = itertools.count()
    start = time.perf_counter()
    deadline = start + budget.seconds

    async def worker() -> None:
        while time.perf_counter() < deadline and (i := next(sequence)) < budget.requests:
            sent = time.perf_counter()
            try:
                response = await send(client, i)
            except httpx.HTTPError as error:
                status, failure = 0, f"{type(error).__name__}: {error}"
            else:
                status, failure = response.status_code, ""
            measurement.latencies_ms.append((time.perf_counter() - sent) * 1000)
            measurement.statuses[status] += 1
            if status and not 200 <= status < 300:
                failure = response.text[:200]
            if failure and len(measurement.error_samples) < MAX_ERROR_SAMPLES:
                measurement.error_samples.append(f"{status} {failure}")

    client_cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(budget.concurrency)))
    measurement.seconds = time.perf_counter() - start
    measurement.cpu_seconds["client"] = time.process_time() - client_cpu
    return measurement
