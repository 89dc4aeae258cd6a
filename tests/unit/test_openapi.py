"""The OpenAPI document is generated from the code and agrees with the contract."""

from __future__ import annotations

import json
from pathlib import Path

from entrypoints.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[2]

CONTRACT_ROUTES = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/logout-all"),
    ("get", "/api/v1/auth/me"),
    ("patch", "/api/v1/auth/me"),
    ("delete", "/api/v1/auth/me"),
    ("get", "/api/v1/auth/profile"),
    ("put", "/api/v1/auth/profile"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks"),
    ("delete", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{task_id}"),
    ("put", "/api/v1/tasks/{task_id}"),
    ("patch", "/api/v1/tasks/{task_id}"),
    ("patch", "/api/v1/tasks/{task_id}/complete"),
    ("delete", "/api/v1/tasks/{task_id}"),
    ("get", "/health"),
    ("get", "/health/ready"),
}


def test_committed_openapi_json_is_current() -> None:
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert committed == openapi_document(), "run `make openapi` and commit openapi.json"


def test_every_contract_route_is_documented_and_nothing_else() -> None:
    document = openapi_document()
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == CONTRACT_ROUTES


def test_schemas_match_the_contract_shapes() -> None:
    schemas = openapi_document()["components"]["schemas"]
    task = schemas["TaskRead"]["properties"]
    assert set(task) == {
        "id", "title", "description", "due_date", "priority", "starred", "completed",
        "completed_at", "tags", "category", "user_id", "created_at", "updated_at", "version",
    }  # fmt: skip
    assert set(schemas["TokenPairRead"]["properties"]) == {
        "access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in", "user",
    }  # fmt: skip
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "detail"}
    assert set(schemas["TaskCreate"]["required"]) == {"title"}
    assert not schemas["TaskUpdate"].get("required")


def test_protected_routes_declare_bearer_auth() -> None:
    paths = openapi_document()["paths"]
    assert paths["/api/v1/tasks"]["get"]["security"] == [{"bearer": []}]
    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
