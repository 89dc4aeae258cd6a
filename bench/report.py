"""The table on the terminal and the raw results on disk: each scenario as a ratio to the floor."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import LOGIN_CONNECTIONS
from bench.wrk import Run

MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One scenario on one server, over all its rounds."""

    scenario: str
    server: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    peak_rss_mib: float

    @classmethod
    def combine(cls, runs: Sequence[Run]) -> list[Row]:
        keys = list(dict.fromkeys((r.scenario, r.server) for r in runs))
        rows = []
        for scenario, server in keys:
            mine = [r for r in runs if (r.scenario, r.server) == (scenario, server)]
            seconds = sum(r.seconds for r in mine)
            rows.append(
                cls(
                    scenario=scenario,
                    server=server,
                    rps=sum(r.requests for r in mine) / seconds if seconds else 0.0,
                    p50_ms=sum(r.p50_ms for r in mine) / len(mine),
                    p99_ms=sum(r.p99_ms for r in mine) / len(mine),
                    errors=sum(r.non_2xx + r.socket_errors for r in mine),
                    peak_rss_mib=max(r.peak_rss_mib for r in mine),
                )
            )
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "-"


def table(
    rows: Sequence[Row], rss_start: dict[str, int], rss_end: dict[str, int], connections: int
) -> str:
    floor = {r.scenario: r for r in rows if r.server == "floor"}
    head = (
        f"{'scenario':<10} {'server':<8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'worker RSS':>12} {'req/s ÷ floor':>13} {'p99 ÷ floor':>11}"
    )
    lines = [
        f"wrk -t1 -c{connections} (login: -c{LOGIN_CONNECTIONS}), one worker each",
        head,
        "-" * len(head),
    ]
    for r in rows:
        base = floor.get(r.scenario)
        rps_ratio = _ratio(r.rps, base.rps) if base and r.server != "floor" else ""
        p99_ratio = _ratio(r.p99_ms, base.p99_ms) if base and r.server != "floor" else ""
        lines.append(
            f"{r.scenario:<10} {r.server:<8} {r.rps:>8.1f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} "
            f"{r.errors:>6} {r.peak_rss_mib:>12.1f} {rps_ratio:>13} {p99_ratio:>11}"
        )
    lines.append("")
    for name, start in rss_start.items():
        lines.append(
            f"RSS {name:<8}: {start / MIB:6.1f} MiB at start, {rss_end[name] / MIB:6.1f} MiB at end"
        )
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
