"""Run the real ASGI app in-process for tests: lifespan, DI container and all."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
from asgi_lifespan import LifespanManager

from entrypoints.http.app import create_app
from entrypoints.ioc import make_container
from entrypoints.settings import Settings

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery staple"


def make_settings(
    storage: str = "memory", database_url: str | None = None, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "app_env": "test",
        "better_auth_secret": TEST_SECRET,
        "todo_storage": storage,
        "database_url": database_url,
        "auth_rate_limit": "10000/minute",
        "log_format": "json",
        **overrides,
    }
    return msgspec.convert(values, Settings)


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, client_ip: str = "203.0.113.7"
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_container(settings), settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(manager.app, client=(client_ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register", json={"email": email or unique_email(), "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def http_scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """An ASGI HTTP/1.1 scope, for tests that drive the app message by message."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
