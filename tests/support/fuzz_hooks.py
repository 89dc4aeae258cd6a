"""Schemathesis hooks for ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``).

OpenAPI describes each query parameter on its own. What it cannot say, the contract refuses
with 422 by design (tests/api cover each rule), so a request generated to be valid is made to
keep these rules before it is sent, and the rest of it is still checked for acceptance:

- a list cursor is issued and signed by the server for one caller, sort and filter: a
  generated one is left out;
- the aliases must agree with what they alias: ``search`` with ``q``, ``sort_by``/``order``
  with ``sort``, ``completed`` with ``status``; so only one of each pair is kept;
- ``order`` needs ``sort_by``.
"""

from __future__ import annotations

from typing import Any

import schemathesis

# Left out when the first is present (aliases), or when the second is absent (``order``).
_ALIASED = {"search": "q", "sort_by": "sort", "completed": "status"}


def consistent_query(query: dict[str, Any]) -> dict[str, Any]:
    kept = {
        name: value
        for name, value in query.items()
        if name != "cursor" and not (name in _ALIASED and _ALIASED[name] in query)
    }
    if "order" in kept and "sort_by" not in kept:
        del kept["order"]
    return kept


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and case.query:
        case.query = consistent_query(dict(case.query))
