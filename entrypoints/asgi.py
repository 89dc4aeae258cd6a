"""The ASGI factory the server calls in each worker: settings from the environment, then the app."""

from __future__ import annotations

from typing import Any

from entrypoints.http.app import create_app
from entrypoints.ioc import make_container
from entrypoints.logs import configure_logging
from entrypoints.settings import load_settings


def create() -> Any:
    settings = load_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    return create_app(make_container(settings), settings)
