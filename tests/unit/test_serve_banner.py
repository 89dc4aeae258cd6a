"""`make run` (`todo serve`) says where the web app is before anything else."""

from __future__ import annotations

import pytest

from entrypoints import cli
from tests.support.app import make_settings


def test_the_first_line_serve_prints_is_the_app_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_run_granian", lambda settings: None)
    cli.serve(make_settings("memory", port=8123))
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == "Todo web app: http://127.0.0.1:8123/"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://127.0.0.1:8000/"),  # noqa: S104 - the wildcard is the point
        ("::", "http://[::1]:8000/"),
        ("::1", "http://[::1]:8000/"),
        ("todo.internal", "http://todo.internal:8000/"),
    ],
)
def test_the_app_url_is_one_a_browser_can_open(host: str, url: str) -> None:
    assert cli._app_url(make_settings("memory", host=host, port=8000)) == url
