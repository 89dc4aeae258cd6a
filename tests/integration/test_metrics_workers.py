"""/metrics with two workers: whichever answers, it counts the requests of both."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_cli import free_port, wait_ready

POOL_SIZE = 3


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.slow
def test_two_workers_give_one_view(clean_database: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        env={
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": clean_database,
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "DATABASE_POOL_SIZE": str(POOL_SIZE),
            "LOG_FORMAT": "json",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        # Ready is one worker answering; wait for the second to have started as well.
        size = ("db_pool_connections", (("state", "size"),))
        deadline = time.monotonic() + 60
        while _samples(httpx.get(f"{base}/metrics").text).get(size) != 2 * POOL_SIZE:
            assert time.monotonic() < deadline, "the second worker never reported"
            time.sleep(0.2)
        health = (
            "http_requests_total",
            (("method", "GET"), ("route", "/health"), ("status", "200")),
        )
        start = _samples(httpx.get(f"{base}/metrics").text).get(health, 0.0)
        sent = 60
        for _ in range(sent):  # a connection each: the workers take turns accepting them
            assert httpx.get(f"{base}/health").status_code == 200

        scrapes = [_samples(httpx.get(f"{base}/metrics").text) for _ in range(12)]
        # Every scrape, whichever worker answered it, counts every request.
        assert {scrape[health] - start for scrape in scrapes} == {sent}
        # Both workers are in the sum: each reports a pool of POOL_SIZE.
        assert {scrape[size] for scrape in scrapes} == {2 * POOL_SIZE}
        assert all(("todo_login_failures_total", ()) in scrape for scrape in scrapes)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
