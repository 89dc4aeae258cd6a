"""Schemathesis against a live `todo serve` on PostgreSQL, signed in as a fresh user: every
check (`--checks all`), phases coverage, fuzzing and stateful (the document's links chain a
created task into its reads and writes). Zero failures, and no 500 in the server's log.

`make fuzz` runs this with more examples (`FUZZ_EXAMPLES`); CI's slow suite runs it bounded.
What is excluded, and why, is written in the Makefile; `schemathesis.toml` widens the statuses
a check accepts only where the contract says so, and `tests/support/fuzz_hooks.py` keeps a
request generated to be valid within the rules OpenAPI cannot state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.test_cli import free_port, serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# The two operations that would end the session the run is signed in with (tests/api cover
# both); the Makefile's `fuzz` target says the same.
EXCLUDED_OPERATIONS = ("logOut", "logOutEverywhere")


def test_schemathesis_finds_nothing_with_every_check(database_url: str) -> None:
    examples = os.environ.get("FUZZ_EXAMPLES", "8")
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "BETTER_AUTH_SECRET": "fuzzing-secret-0123456789-0123456789-abcdef",
        # Thousands of requests a minute from one user and one address: limits would only
        # turn the run into 429s (which it accepts, but which test nothing else).
        "AUTH_RATE_LIMIT": "1000000/minute",
        "API_RATE_LIMIT": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    with serving(env) as (base, server):
        account = {"email": "fuzzer@example.com", "password": "fuzzing all the things"}
        token = httpx.post(f"{base}/api/auth/register", json=account).json()["access_token"]
        document = httpx.get(f"{base}/openapi.json").json()
        operations = [op for item in document["paths"].values() for op in item.values()]
        tested = len(operations) - len(EXCLUDED_OPERATIONS)
        schemathesis = Path(sys.executable).with_name("schemathesis")
        command = [
            str(schemathesis),
            f"--config-file={ROOT / 'schemathesis.toml'}",
            "run",
            f"{base}/openapi.json",
            "--checks=all",
            "--phases=coverage,fuzzing,stateful",
            f"--header=Authorization: Bearer {token}",
            *(f"--exclude-operation-id={operation}" for operation in EXCLUDED_OPERATIONS),
            f"--max-examples={examples}",
            "--seed=20261201",
            "--continue-on-failure",
            "--no-color",
        ]
        result = subprocess.run(  # noqa: S603 - the fuzzer, against our own server
            command,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
            cwd=ROOT,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.support.fuzz_hooks",
                "PYTHONPATH": str(ROOT),
            },
        )
    output = server.stdout.read() if server.stdout else ""
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "unhandled error" not in output
    assert f"Tested: {tested}" in result.stdout  # every operation but the two excluded
