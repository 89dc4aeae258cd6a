"""The request examples of the OpenAPI document are bodies the server accepts, and its answers
match the response examples' shape: a client copying them from /docs gets what they promise."""

from __future__ import annotations

from typing import Any

from entrypoints.openapi import openapi_document
from tests.support.app import bearer, make_settings, serve


def examples() -> dict[str, Any]:
    schemas = openapi_document()["components"]["schemas"]
    return {name: schema["examples"][0] for name, schema in schemas.items() if "examples" in schema}


async def test_the_request_examples_are_accepted_as_documented() -> None:
    example = examples()
    async with serve(make_settings()) as client:
        registered = await client.post("/api/v1/auth/register", json=example["RegisterBody"])
        assert registered.status_code == 201, registered.text
        assert set(registered.json()) == set(example["TokenPairRead"])
        logged_in = await client.post("/api/v1/auth/login", json=example["LoginBody"])
        assert logged_in.status_code == 200, logged_in.text
        auth = bearer(logged_in.json())
        created = await client.post("/api/v1/tasks", json=example["TaskCreate"], headers=auth)
        assert created.status_code == 201, created.text
        task = created.json()
        assert set(task) == set(example["TaskRead"])
        assert {k: task[k] for k in example["TaskCreate"]} == example["TaskCreate"]
        url = f"/api/v1/tasks/{task['id']}"
        updated = await client.patch(url, json=example["TaskUpdate"], headers=auth)
        assert updated.status_code == 200, updated.text
        completed = await client.patch(
            f"{url}/complete", json=example["CompletionBody"], headers=auth
        )
        assert completed.json()["completed"] is True
        profile = await client.patch("/api/v1/auth/me", json=example["ProfileBody"], headers=auth)
        assert profile.status_code == 200, profile.text
        assert set(profile.json()) == set(example["UserRead"])
        invalid = await client.post("/api/v1/tasks", json={"title": " "}, headers=auth)
        assert set(invalid.json()) == set(example["Problem"])
