"""The whole app over HTTP, against PostgreSQL and against the in-memory adapters alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from entrypoints.settings import Settings
from tests.support.app import make_settings, serve

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(params=["postgres", "memory"])
def storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_for(storage: str, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    """Settings for this test's storage; PostgreSQL ones point at the clean test database."""
    url = request.getfixturevalue("clean_database") if storage == "postgres" else None

    def build(**overrides: Any) -> Settings:
        return make_settings(storage, url, **overrides)

    return build


@pytest.fixture
def app_with(settings_for: Callable[..., Settings]) -> AppFactory:
    """Start the app with other settings: ``async with app_with(hsts=True) as client``."""

    def start(
        client_ip: str = "203.0.113.7", **overrides: Any
    ) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return serve(settings_for(**overrides), client_ip=client_ip)

    return start


@pytest.fixture
async def client(app_with: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with() as client:
        yield client
