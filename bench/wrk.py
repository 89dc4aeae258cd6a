"""Drive a server with wrk (Debian's package): one Lua script per scenario, JSON back."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# wrk calls done() once at the end; it prints one line the runner picks out.
_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "micros": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50": %d, "p99": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Run:
    scenario: str
    server: str
    requests: int
    seconds: float
    socket_errors: int  # connect, read, write and timeouts
    non_2xx: int
    p50_ms: float
    p99_ms: float
    peak_rss_mib: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return found


def lua_script(requests: list[tuple[str, str, str | None]], token: str) -> str:
    """Cycle through ``requests`` (method, path, JSON body) as one client of an SPA would."""
    rows = ",\n".join(
        f"  {{{json.dumps(method)}, {json.dumps(path)}, {json.dumps(body) if body else 'nil'}}}"
        for method, path, body in requests
    )
    return f"""
local plan = {{
{rows}
}}
local n = 0
local json_headers = {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}
local bare_headers = {{["Authorization"] = "Bearer {token}"}}
request = function()
  n = n + 1
  local r = plan[(n % #plan) + 1]
  if r[3] then
    return wrk.format(r[1], r[2], json_headers, r[3])
  end
  return wrk.format(r[1], r[2], bare_headers, nil)
end
{_DONE}
"""


@contextmanager
def peak_rss(sample: Callable[[], int]) -> Iterator[list[int]]:
    """Sample a process tree's RSS every 100 ms while the block runs; yields [peak bytes]."""
    peak = [sample()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.1):
            peak[0] = max(peak[0], sample())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], sample())


def run_wrk(
    base_url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    rss: Callable[[], int],
    scenario: str,
    server: str,
) -> Run:
    command = [
        wrk_binary(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "2s",
        "-s",
        str(script),
        base_url,
    ]
    with peak_rss(rss) as peak:
        output = subprocess.run(  # noqa: S603 - wrk with arguments built here
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    line = next(x for x in output.splitlines() if x.startswith("WRK_RESULT "))
    result = json.loads(line.removeprefix("WRK_RESULT "))
    return Run(
        scenario=scenario,
        server=server,
        requests=result["requests"],
        seconds=result["micros"] / 1e6,
        socket_errors=result["connect"] + result["read"] + result["write"] + result["timeout"],
        non_2xx=result["status"],
        p50_ms=result["p50"] / 1000,
        p99_ms=result["p99"] / 1000,
        peak_rss_mib=peak[0] / (1024 * 1024),
    )
