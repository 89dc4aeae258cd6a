"""The security suite's standing rule: no input produces a 500 or a log line at ERROR level.

Every 500 is logged at ERROR with its request id, so watching the log catches both. A test that
provokes an error on purpose (a dependency taken away) says so with ``logs_errors``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.api.conftest import app_with, client, settings_for, storage

# The API suite's fixtures: ``client`` and ``app_with`` on both storages.
__all__ = ["app_with", "client", "settings_for", "storage"]


@pytest.fixture(autouse=True)
def nothing_logged_at_error(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("logs_errors"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
