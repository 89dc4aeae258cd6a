"""`python -m bench [--quick] [--seconds S] [--connections N]`: the project against its floor.

Both servers serve one migrated database. Each scenario is driven by wrk at N connections,
alternately against the floor and the project (A B A B), and reported as a ratio to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.report import Row, table, write_json
from bench.scenarios import LOGIN_CONNECTIONS, lua_plans, prepare
from bench.servers import Server, migrated_database, running_server
from bench.wrk import Run, run_wrk

RESULTS = Path(__file__).resolve().parent / "results.json"
STORM = "list@storm"
STORM_LIST_CONNECTIONS = 10
STORM_LOGIN_CONNECTIONS = 50
STORM_DRAIN_SECONDS = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one short round: a smoke test")
    parser.add_argument("--seconds", type=float, help="seconds per run (5; quick 1)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (1.0 if args.quick else 5.0)
    args.rounds = 1 if args.quick else 2
    return args


async def _seed(server: Server, quick: bool) -> dict[str, tuple[str, str]]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, trust_env=False) as client:
        workload = await prepare(client, 60 if quick else 500, 60 if quick else 200)
    return lua_plans(workload)


def _drive(server: Server, script: Path, scenario: str, connections: int, seconds: float) -> Run:
    return run_wrk(
        server.base_url,
        script,
        connections=connections,
        seconds=seconds,
        rss=server.rss_bytes,
        scenario=scenario,
        server=server.name,
    )


def _report(run: Run) -> Run:
    print(
        f"  {run.scenario:<10} {run.server:<8} {run.rps:8.1f} req/s  "
        f"p99 {run.p99_ms:7.1f} ms  errors {run.non_2xx + run.socket_errors}",
        flush=True,
    )
    return run


def _during_login_storm(server: Server, scripts: Path, seconds: float) -> Run:
    """list50 from a few clients while 50 connections log in as fast as they can: the
    hashing pool's bound is what keeps the event loop answering."""
    with ThreadPoolExecutor(1) as background:
        storm = background.submit(
            _drive, server, scripts / "login.lua", "login", STORM_LOGIN_CONNECTIONS, seconds + 1
        )
        time.sleep(0.5)  # the storm is on
        run = _drive(server, scripts / "list50.lua", STORM, STORM_LIST_CONNECTIONS, seconds)
        storm.result()
    time.sleep(STORM_DRAIN_SECONDS)  # let the queued hashes finish before the next run
    return run


def measure(servers: list[Server], args: argparse.Namespace, scripts: Path) -> list[Run]:
    runs: list[Run] = []
    project = next(s for s in servers if s.name == "project")
    plans = asyncio.run(_seed(project, args.quick))  # through the project's own API
    for scenario, (_, lua) in plans.items():
        (scripts / f"{scenario}.lua").write_text(lua)
    for scenario in [*plans, STORM]:
        if args.only and scenario not in args.only:
            continue
        if scenario == STORM:
            for _ in range(args.rounds):
                runs += [_report(_during_login_storm(s, scripts, args.seconds)) for s in servers]
            continue
        script = scripts / f"{scenario}.lua"
        connections = LOGIN_CONNECTIONS if scenario == "login" else args.connections
        for server in servers:  # warm both: statement caches, pools, allocator
            _drive(server, script, scenario, connections, 1)
        for _ in range(args.rounds):
            runs += [
                _report(_drive(s, script, scenario, connections, args.seconds)) for s in servers
            ]
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    with (
        tempfile.TemporaryDirectory(prefix="todo-bench-") as work,
        contextlib.ExitStack() as stack,
    ):
        print("starting PostgreSQL, the project and the floor ...", flush=True)
        database_url = stack.enter_context(migrated_database())
        servers = [
            stack.enter_context(running_server(name, database_url, Path(work)))
            for name in ("floor", "project")
        ]
        rss_start = {s.name: s.rss_bytes() for s in servers}
        try:
            runs = measure(servers, args, Path(work))
        except Exception:
            for server in servers:
                print(f"--- {server.name} log ---\n{server.log_tail()}", file=sys.stderr)
            raise
        rss_end = {s.name: s.rss_bytes() for s in servers}
    rows = Row.combine(runs)
    print()
    print(table(rows, rss_start, rss_end, args.connections))
    write_json(
        RESULTS,
        {
            "started_at": started,
            "wall_seconds": round(time.time() - started, 1),
            "connections": args.connections,
            "seconds_per_run": args.seconds,
            "rounds": args.rounds,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "rss_bytes": {"start": rss_start, "end": rss_end},
            "runs": [vars(r) for r in runs],
            "rows": [r.as_dict() for r in rows],
        },
    )
    print(f"\nraw results: {RESULTS}")
    failed = [r for r in runs if r.socket_errors or r.non_2xx]  # the storm's logins are not runs
    for r in failed:
        print(
            f"ERRORS {r.scenario}/{r.server}: {r.non_2xx} non-2xx, {r.socket_errors} socket",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers and the database are gone by now
        print("interrupted", file=sys.stderr)
        sys.exit(130)
