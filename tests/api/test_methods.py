"""RFC 9110 methods on every route the app has (enumerated from the app, so a new route is
covered the day it lands): ``HEAD`` answers like ``GET`` without a body, ``OPTIONS`` and every
405 name exactly the resource's methods in ``Allow``, and CORS preflights still work."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from litestar.routes import HTTPRoute

from entrypoints.http.app import build_litestar
from entrypoints.ioc import make_container
from tests.support.app import bearer, make_settings, register, serve

OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE")
# Headers that differ between any two requests, not between HEAD and GET.
PER_REQUEST = {"x-request-id", "date"}


@dataclass(frozen=True)
class Resource:
    template: str
    path: str  # the template with real values: the caller's id, one of their tasks
    methods: frozenset[str]  # what its handlers take

    @property
    def allow(self) -> str:
        """RFC 9110's list, in this API's fixed order: HEAD with GET, OPTIONS always."""
        methods = set(self.methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in self.methods else set())
        order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        return ", ".join(m for m in order if m in methods)


@dataclass
class World:
    client: httpx.AsyncClient
    auth: dict[str, str]
    resources: list[Resource]


def app_routes() -> list[tuple[str, frozenset[str]]]:
    settings = make_settings()
    app = build_litestar(make_container(settings), settings)
    return [
        (route.path, frozenset(route.methods) - {"OPTIONS", "HEAD"})
        for route in app.routes
        if isinstance(route, HTTPRoute)
    ]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with serve(make_settings()) as client:
        pair = await register(client)
        auth = bearer(pair)
        task = await client.post("/api/tasks", json={"title": "Probe"}, headers=auth)
        values = {
            "user_id": pair["user"]["id"],
            "task_id": task.json()["id"],
            "file_path": "app.css",
            "name": "docs.js",
            "path": "nothing-here",
        }
        resources = [
            Resource(
                template,
                re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m[1]], template),
                methods,
            )
            for template, methods in app_routes()
        ]
        yield World(client, auth, resources)


def test_every_route_is_enumerated() -> None:
    templates = {template for template, _ in app_routes()}
    assert {"/api/v1/tasks", "/api/v1/tasks/{task_id:str}", "/health", "/docs"} <= templates
    assert len(templates) >= 20


async def test_options_lists_exactly_the_methods_of_each_resource(world: World) -> None:
    for resource in world.resources:
        response = await world.client.options(resource.path)
        assert response.status_code == 204, (resource, response.text)
        assert response.headers["allow"] == resource.allow, resource
        assert response.content == b""
        assert response.headers["x-content-type-options"] == "nosniff"
    tasks = next(r for r in world.resources if r.template == "/api/v1/tasks")
    assert tasks.allow == "GET, HEAD, POST, DELETE, OPTIONS"
    # The unversioned alias is the same resource; an unknown path is no resource at all.
    assert (await world.client.options("/api/tasks")).headers["allow"] == tasks.allow
    assert (await world.client.options("/api/nope")).status_code == 404


async def test_every_other_method_is_405_with_the_same_allow(world: World) -> None:
    for resource in world.resources:
        refused = [m for m in OTHER_METHODS if m not in resource.methods]
        if "GET" not in resource.methods:
            refused.append("HEAD")
        for method in refused:
            response = await world.client.request(method, resource.path, headers=world.auth)
            assert response.status_code == 405, (method, resource)
            assert response.headers["allow"] == resource.allow, (method, resource)
            if method != "HEAD":
                assert response.json()["status"] == 405


async def test_head_answers_every_get_route_like_get_without_a_body(world: World) -> None:
    for resource in world.resources:
        if "GET" not in resource.methods:
            continue
        got = await world.client.get(resource.path, headers=world.auth)
        head = await world.client.head(resource.path, headers=world.auth)
        assert head.status_code == got.status_code, resource
        assert head.content == b"", resource
        varying = PER_REQUEST | ({"content-length"} if resource.path == "/metrics" else set())
        expected = {k: v for k, v in got.headers.items() if k not in varying}
        assert {k: v for k, v in head.headers.items() if k not in varying} == expected, resource
    task = next(r for r in world.resources if r.template == "/api/v1/tasks/{task_id:str}")
    head = await world.client.head(task.path, headers=world.auth)
    assert head.headers["etag"] == '"1"'
    listing = await world.client.head("/api/tasks", headers=world.auth)
    assert listing.headers["x-total-count"] == "1"
    # Without a token HEAD is refused like GET, still without a body.
    refused = await world.client.head(task.path)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.content == b""


async def test_cors_preflights_are_still_answered_before_routing(world: World) -> None:
    preflight = {"origin": "http://localhost:3000", "access-control-request-method": "PATCH"}
    for resource in world.resources:
        response = await world.client.options(resource.path, headers=preflight)
        assert response.status_code == 204, resource
        assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "PATCH" in response.headers["access-control-allow-methods"]
        assert "allow" not in response.headers
