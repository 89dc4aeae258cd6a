"""RFC 9110 methods: the one spelling of ``Allow``. ``HEAD`` is part of every ``GET`` resource
(the edge middleware answers it with the ``GET`` response's head) and ``OPTIONS`` of every one."""

from __future__ import annotations

from collections.abc import Iterable

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_RANK = {method: rank for rank, method in enumerate(METHOD_ORDER)}
# A method no route has: routing then answers 405 with every method the resource does have.
PROBE_METHOD = "X-TODO-ALLOW-PROBE"


def allow_header(methods: Iterable[str]) -> str:
    """``Allow`` for a resource whose handlers take ``methods``: with ``HEAD`` wherever ``GET``
    is, ``OPTIONS`` always, in a fixed order."""
    allowed = {method.strip().upper() for method in methods if method.strip()}
    allowed.discard(PROBE_METHOD)
    if "GET" in allowed:
        allowed.add("HEAD")
    allowed.add("OPTIONS")
    return ", ".join(sorted(allowed, key=lambda method: (_RANK.get(method, len(_RANK)), method)))
