"""`python -m bench [--quick] [--concurrency N] [--seconds S] [--requests N]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.load import Budget, Measurement, drive
from bench.report import table, with_ratios, write_json
from bench.scenarios import Workload, prepare, scenarios
from bench.servers import Server, migrated_database, running_server

RESULTS = Path(__file__).resolve().parent / "results.json"
STORAGES = ("postgres", "memory")


@dataclass(frozen=True)
class Outcome:
    warmup: list[Measurement]
    measured: list[Measurement]
    rss: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Plan:
    measure: Budget
    warmup: Budget
    reader_tasks: int
    writer_tasks: int


def parse_plan(argv: list[str] | None) -> tuple[Plan, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few hundred requests: a smoke test")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    parser.add_argument("--seconds", type=float, help="time cap per scenario (7, quick 2)")
    parser.add_argument("--requests", type=int, help="request cap per scenario (5000, quick 20)")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    width = args.concurrency
    if args.quick:
        plan = Plan(
            measure=Budget(args.requests or 20, args.seconds or 2.0, width),
            warmup=Budget(3, 1.0, width),
            reader_tasks=50,
            writer_tasks=10,
        )
    else:
        plan = Plan(
            measure=Budget(args.requests or 5000, args.seconds or 7.0, width),
            warmup=Budget(200, 1.0, width),
            reader_tasks=500,
            writer_tasks=200,
        )
    return plan, args.quick


def _client(server: Server, width: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url,
        limits=httpx.Limits(max_connections=width, max_keepalive_connections=width),
        timeout=60,
        trust_env=False,  # never through a proxy: the load stays on 127.0.0.1
    )


async def run(servers: list[Server], plan: Plan) -> Outcome:
    width = plan.measure.concurrency
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(_client(s, width)) for s in servers]
        rss = {s.storage: {"start": s.rss_bytes()} for s in servers}
        print("seeding ...", flush=True)
        loads: list[Workload] = await asyncio.gather(
            *(prepare(c, plan.reader_tasks, plan.writer_tasks, width) for c in clients)
        )
        plays = [scenarios(w) for w in loads]
        warmups = [
            await drive(client, send, plan.warmup, Measurement(name, server.storage))
            for server, client, play in zip(servers, clients, plays, strict=True)
            for name, send in play.items()
        ]
        for s in servers:
            rss[s.storage]["after_warmup"] = s.rss_bytes()
        measured = []
        for k, name in enumerate(plays[0]):
            order = list(zip(servers, clients, plays, strict=True))
            for server, client, play in order if k % 2 == 0 else reversed(order):
                server_cpu, database_cpu = server.cpu_seconds(), server.database_cpu_seconds()
                m = await drive(client, play[name], plan.measure, Measurement(name, server.storage))
                m.cpu_seconds["server"] = server.cpu_seconds() - server_cpu
                m.cpu_seconds["database"] = server.database_cpu_seconds() - database_cpu
                measured.append(m)
                print(
                    f"  {name:<9} {server.storage:<8} {m.requests:>6} req {m.rps:8.1f} req/s",
                    flush=True,
                )
        for s in servers:
            rss[s.storage]["end"] = s.rss_bytes()
    names = list(plays[0])
    measured.sort(key=lambda m: (names.index(m.scenario), STORAGES.index(m.storage)))
    return Outcome(warmups, measured, rss)


def main(argv: list[str] | None = None) -> int:
    plan, quick = parse_plan(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="todo-bench-") as logs, contextlib.ExitStack() as stack:
        print("starting PostgreSQL and the servers ...", flush=True)
        database_url = stack.enter_context(migrated_database())
        servers = [
            stack.enter_context(
                running_server(storage, database_url if storage == "postgres" else None, Path(logs))
            )
            for storage in STORAGES
        ]
        try:
            outcome = asyncio.run(run(servers, plan))
        except Exception:
            for server in servers:
                print(f"--- {server.storage} server log ---\n{server.log_tail()}", file=sys.stderr)
            raise
    rows = with_ratios(outcome.measured)
    print()
    print(table(rows, outcome.rss))
    write_json(
        RESULTS,
        {
            "started_at": started,
            "wall_seconds": round(time.time() - started, 1),
            "quick": quick,
            "plan": asdict(plan),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "rss_bytes": outcome.rss,
            "warmup": [m.as_dict() for m in outcome.warmup],
            "results": rows,
        },
    )
    print(f"\nraw results: {RESULTS}")
    failed = [m for m in [*outcome.warmup, *outcome.measured] if m.errors]
    for m in failed:
        print(f"ERRORS {m.scenario}/{m.storage}: {m.errors} {m.error_samples}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers and the database are gone by now
        print("interrupted", file=sys.stderr)
        sys.exit(130)
