"""Errors, request ids, headers and service routes: the contract's conventions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.app import bearer, register

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


async def test_unknown_route_is_a_problem_404_even_without_a_token(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/nope", "/api/nope", "/api/v1/nope/deeper"):
        body = assert_problem(await client.get(path), 404)
        assert body["instance"] == path


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    body = b'{"email": "' + b"a" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/api/auth/register", content=body, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)
    # What is left of the body is still on the connection: the server closes it.
    assert response.headers["connection"] == "close"


async def test_chunked_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = await client.post(
        "/api/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert response.headers["connection"] == "close"


async def test_lying_content_length_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(5 * 1024 * 1024)},
    )
    assert_problem(response, 413)


async def test_wrong_or_missing_content_type_is_415(client: httpx.AsyncClient) -> None:
    payload = b'{"email": "a@example.com", "password": "whatever-password"}'
    for headers in (
        {"content-type": "text/plain"},
        {},
        {"content-type": "application/x-www-form-urlencoded"},
    ):
        response = await client.post("/api/auth/login", content=payload, headers=headers)
        assert_problem(response, 415)
    gzipped = {"content-type": "application/json", "content-encoding": "gzip"}
    assert_problem(await client.post("/api/auth/login", content=payload, headers=gzipped), 415)


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register",
        content=b'{"email": "charset@example.com", "password": "a perfectly fine password"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_validation_errors_name_every_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": 5, "password": None, "extra": True}
    )
    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"email", "password", "extra"}


async def test_request_id_is_kept_when_valid_and_replaced_when_not(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/health", headers={"x-request-id": "abc.DEF-123_x"})
    assert kept.headers["x-request-id"] == "abc.DEF-123_x"
    for bad in ("has space", "x" * 129, "bad/slash"):
        replaced = await client.get("/health", headers={"x-request-id": bad})
        assert replaced.headers["x-request-id"] not in ("", bad)
    generated = await client.get("/nope")
    assert generated.json()["request_id"] == generated.headers["x-request-id"]


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/nope"),
        await client.post("/api/auth/logout-all"),
        await client.options(
            "/api/tasks",
            headers={"origin": "http://localhost:3000", "access-control-request-method": "POST"},
        ),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    api = await client.post("/api/auth/logout-all")
    assert api.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in api.headers


async def test_hsts_when_enabled(app_with) -> None:  # type: ignore[no-untyped-def]
    async with app_with(hsts=True) as client:
        response = await client.get("/health")
    assert "max-age=" in response.headers["strict-transport-security"]


async def test_cors_echoes_allowed_origins_only(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/api/tasks",
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "PATCH",
            "access-control-request-headers": "authorization, if-match",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert "If-Match" in preflight.headers["access-control-allow-headers"]
    assert preflight.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in preflight.headers
    for origin in ("http://localhost:3000", "http://127.0.0.1:3000", "http://127.0.0.1:5173"):
        simple = await client.get("/health", headers={"origin": origin})
        assert simple.headers["access-control-allow-origin"] == origin
    assert "ETag" in simple.headers["access-control-expose-headers"]
    assert "Origin" in simple.headers["vary"]
    for response in (
        await client.get("/health", headers={"origin": "https://evil.example"}),
        await client.options(
            "/api/tasks",
            headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
        ),
    ):
        assert "access-control-allow-origin" not in response.headers


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    probe = await client.head("/health")
    assert (probe.status_code, probe.content) == (200, b"")
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text


async def test_openapi_documents_v1_and_docs_page_loads(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert "/api/v1/tasks" in paths
    assert "/api/v1/auth/register" in paths
    assert not any(p.startswith("/api/tasks") for p in paths)
    create = paths["/api/v1/tasks"]["post"]
    assert "requestBody" in create
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "html" in docs.headers["content-type"]


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    await client.get("/api/tasks/00000000-0000-0000-0000-000000000000")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert (
        'route="/api/v1/tasks/{task_id:str}"' in text or 'route="/api/v1/tasks/{task_id}"' in text
    )


async def test_a_crash_is_a_bare_500_problem_and_logged_with_its_request_id(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from adapters.memory.tasks import MemoryTaskRepository
    from adapters.postgres.tasks import PostgresTaskRepository

    async def explode(*_: object, **__: object) -> None:
        raise RuntimeError("SELECT secret_internals FROM pg_catalog")

    monkeypatch.setattr(MemoryTaskRepository, "page", explode)
    monkeypatch.setattr(PostgresTaskRepository, "page", explode)
    pair = (
        await client.post(
            "/api/auth/register", json={"email": "crash@example.com", "password": "a fine password"}
        )
    ).json()
    response = await client.get(
        "/api/tasks", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    body = assert_problem(response, 500)
    assert "secret_internals" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("secret_internals" in str(r.exc_info[1]) for r in logged if r.exc_info)
    assert body["request_id"] in caplog.text or any(
        getattr(r, "request_id", None) == body["request_id"] for r in logged
    )


async def test_hostile_bodies_never_cause_a_500(client: httpx.AsyncClient) -> None:
    json_headers = {"content-type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_problem(await client.post("/api/auth/login", content=deep, headers=json_headers), 400)
    not_an_object = await client.post("/api/auth/login", content=b"[1, 2]", headers=json_headers)
    assert_problem(not_an_object, 422)
    for hostile in (
        b'{"email": "a\\u0000@example.com", "password": "whatever-password"}',
        b'{"email": "\\ud800@example.com", "password": "whatever-password"}',
        b'{"email": "a@example.com", "password": "pass\\udfffword"}',
    ):
        login = await client.post("/api/auth/login", content=hostile, headers=json_headers)
        assert login.status_code in (400, 401, 422), login.text
        register = await client.post("/api/auth/register", content=hostile, headers=json_headers)
        assert register.status_code in (400, 422), register.text


async def test_unknown_docs_pages_are_problems_too(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/docs/nope"), 404)
    assert (await client.get("/docs/openapi.json")).status_code == 200


async def test_options_needs_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/api/tasks", "/api/tasks/abc", f"/api/{uuid.uuid4()}/tasks"):
        response = await client.options(path)
        assert response.status_code == 204, (path, response.text)


async def test_an_answer_given_before_the_body_was_read_closes_the_connection(
    client: httpx.AsyncClient,
) -> None:
    """A 401 sent without reading the body leaves that body on the connection: the client is
    told the connection closes, rather than finding it dropped under its next request."""
    refused = await client.post("/api/tasks", json={"title": "no token"})
    assert refused.status_code == 401
    assert refused.headers["connection"] == "close"
    pair = await register(client)
    created = await client.post("/api/tasks", json={"title": "read"}, headers=bearer(pair))
    assert created.status_code == 201
    assert "connection" not in created.headers  # the body was read: the connection stays
    assert "connection" not in (await client.get("/api/tasks", headers=bearer(pair))).headers
