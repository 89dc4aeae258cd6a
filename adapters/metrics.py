"""Counters of the events operators alert on: logins that failed, requests a rate limit refused,
rotated refresh tokens presented again, writes a quota refused.

Process-wide, one set however many apps a process builds (the tests build hundreds); with
several workers prometheus_client keeps them in its multiprocess files, so ``/metrics`` (which
renders them beside the HTTP metrics) sums every worker.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry()

login_failures = Counter(
    "todo_login_failures_total",
    "Wrong email or password: failed logins, and wrong current passwords on account changes",
    registry=REGISTRY,
)
rate_limited = Counter(
    "todo_rate_limited_total",
    "Requests refused by a rate limit, by limit",
    ["limit"],
    registry=REGISTRY,
)
refresh_token_reuse = Counter(
    "todo_refresh_token_reuse_total",
    "Rotated refresh tokens presented again; each one revoked its session",
    registry=REGISTRY,
)
quota_refusals = Counter(
    "todo_quota_refusals_total",
    "Writes refused by a per-user quota, by quota",
    ["quota"],
    registry=REGISTRY,
)
