"""The table on the terminal and the raw results on disk, with same-run ratios."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.load import Measurement

BASELINE = "health"
MIB = 1024 * 1024


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def with_ratios(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """Each row as a dict, plus throughput against its server's /health and pg against memory."""
    by_key = {(m.scenario, m.storage): m for m in measurements}
    rows = []
    for m in measurements:
        row = m.as_dict()
        baseline = by_key.get((BASELINE, m.storage))
        row["rps_vs_health"] = _ratio(m.rps, baseline.rps) if baseline else None
        memory = by_key.get((m.scenario, "memory"))
        if m.storage == "postgres" and memory:
            row["pg_vs_memory_rps"] = _ratio(m.rps, memory.rps)
            row["pg_vs_memory_p50"] = _ratio(m.percentile(50), memory.percentile(50))
        rows.append(row)
    return rows


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _cpu(ms: dict[str, float]) -> str:
    return "/".join(f"{ms.get(part, 0.0):.1f}" for part in ("server", "client", "database"))


def table(rows: Sequence[dict[str, Any]], rss: dict[str, dict[str, int]]) -> str:
    head = (
        f"{'scenario':<9} {'storage':<8} {'n':>6} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'err':>4} {'cpu ms/req s/c/db':>18} {'x health':>8} {'pg/mem req/s':>12} "
        f"{'pg/mem p50':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['scenario']:<9} {r['storage']:<8} {r['requests']:>6} {r['rps']:>8.1f} "
            f"{r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['errors']:>4} "
            f"{_cpu(r['cpu_ms_per_request']):>18} {_fmt(r['rps_vs_health']):>8} "
            f"{_fmt(r.get('pg_vs_memory_rps')):>12} {_fmt(r.get('pg_vs_memory_p50')):>10}"
        )
    lines.append("cpu ms/req: server process / load generator / PostgreSQL backends (if local)")
    lines.append("")
    for storage, sizes in rss.items():
        lines.append(
            f"server RSS {storage:<8}: {sizes['start'] / MIB:6.1f} MiB at start, "
            f"{sizes['after_warmup'] / MIB:6.1f} after warm-up, {sizes['end'] / MIB:6.1f} at end"
        )
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
