"""Prometheus metrics: request counts and latencies by route template, and pool use."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PoolReading = Callable[[], dict[str, int]]


class _PoolCollector(Collector):
    def __init__(self, read: PoolReading) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        for state, value in self._read().items():
            gauge.add_metric([state], value)
        yield gauge


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["route", "method", "status"]
        self._requests = Counter(
            "http_requests_total", "HTTP requests", labels, registry=self.registry
        )
        self._duration = Histogram(
            "http_request_duration_seconds", "HTTP request latency", labels, registry=self.registry
        )

    def watch_pool(self, reading: PoolReading) -> None:
        self.registry.register(_PoolCollector(reading))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(route, method, str(status)).inc()
        self._duration.labels(route, method, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
