"""Property-based fuzzing of every documented operation: no input ever yields a 500."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.test_cli import free_port, serving

pytestmark = pytest.mark.slow


def test_schemathesis_finds_no_server_error(database_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "BETTER_AUTH_SECRET": "fuzzing-secret-0123456789-0123456789-abcdef",
        "AUTH_RATE_LIMIT": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    with serving(env) as (base, server):
        account = {"email": "fuzzer@example.com", "password": "fuzzing all the things"}
        token = httpx.post(f"{base}/api/auth/register", json=account).json()["access_token"]
        schemathesis = Path(sys.executable).with_name("schemathesis")
        result = subprocess.run(  # noqa: S603 - the fuzzer, against our own server
            [
                str(schemathesis),
                "run",
                f"{base}/openapi.json",
                "--checks=not_a_server_error",
                f"--header=Authorization: Bearer {token}",
                "--exclude-path-regex=logout",  # would end the fuzzer's own session
                "--max-examples=40",
                "--seed=20261125",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    output = server.stdout.read() if server.stdout else ""
    assert result.returncode == 0, result.stdout[-4000:]
    assert "unhandled error" not in output
