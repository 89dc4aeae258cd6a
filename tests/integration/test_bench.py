"""The benchmark keeps working: a quick run against the floor completes with no failed request."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_quick_benchmark_runs_clean(postgres_server_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        env={**os.environ, "BENCH_DATABASE_URL": postgres_server_url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "req/s ÷ floor" in result.stdout
    for scenario in ("list50", "get", "create", "patch", "complete", "login", "spa"):
        assert f"\n{scenario} " in result.stdout, scenario
