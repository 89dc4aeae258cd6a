"""Log lines are structured and carry the request id of the request that wrote them."""

from __future__ import annotations

import json
import logging

import pytest

from entrypoints.logs import configure_logging
from tests.support.app import make_settings, serve


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
async def test_json_access_log_carries_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    async with serve(make_settings("memory")) as client:
        response = await client.get("/health", headers={"X-Request-ID": "trace-me-42"})
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("logger") == "todo.access"]
    assert access, lines
    assert access[-1]["request_id"] == response.headers["x-request-id"] == "trace-me-42"
    assert access[-1]["status"] == 200
    assert access[-1]["path"] == "/health"


@pytest.mark.usefixtures("restore_logging")
def test_console_format_is_human_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "console")
    logging.getLogger("todo.test").info("hello", extra={"answer": 42})
    err = capsys.readouterr().err
    assert "hello" in err
    assert "answer=42" in err
    assert not err.lstrip().startswith("{")
