"""The OpenAPI document is generated from the code and agrees with the contract."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs

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


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_method_like_id_and_every_status_it_can_answer() -> None:
    document = openapi_document()
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z]+", operation_id) for operation_id in ids), ids
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        errors = {int(s) for s in responses if int(s) >= 400}
        if path.startswith("/api/"):
            assert {422, 503} <= errors, (method, path)  # unknown query parameter; database
        if "requestBody" in operation:
            assert {400, 413, 415, 422} <= errors, (method, path)
        if operation.get("security") == [{"bearer": []}]:
            assert {401, 429} <= errors, (method, path)
        for status in errors:
            content = responses[str(status)]["content"]
            assert content == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
        assert (
            responses.get("401", {})
            .get("headers", {})
            .get("WWW-Authenticate", {})
            .get("required", True)
        )
        if path.startswith("/api/") and "429" in responses:
            assert responses["429"]["headers"]["Retry-After"]["required"]


def test_the_task_routes_document_their_headers_and_links() -> None:
    paths = openapi_document()["paths"]
    created = paths["/api/v1/tasks"]["post"]["responses"]["201"]
    assert {"ETag", "Location"} <= set(created["headers"])
    assert all(created["headers"][name]["required"] for name in ("ETag", "Location"))
    links = {link["operationId"] for link in created["links"].values()}
    assert links == {"getTask", "updateTask", "putTask", "completeTask", "deleteTask"}
    assert all(
        link["parameters"] == {"task_id": "$response.body#/id"}
        for link in created["links"].values()
    )
    listed = paths["/api/v1/tasks"]["get"]["responses"]["200"]["headers"]
    assert listed["X-Total-Count"]["required"]
    assert "Link" in listed
    for method in ("get", "put", "patch"):
        headers = paths["/api/v1/tasks/{task_id}"][method]["responses"]["200"]["headers"]
        assert headers["ETag"]["required"], method


def test_optional_bodies_and_optional_tokens_are_documented_as_optional() -> None:
    paths = openapi_document()["paths"]
    logout = paths["/api/v1/auth/logout"]["post"]
    assert logout["requestBody"]["required"] is False
    assert {} in logout["security"]
    assert paths["/api/v1/tasks/{task_id}/complete"]["patch"]["requestBody"]["required"] is False
    assert paths["/api/v1/tasks"]["post"]["requestBody"]["required"] is True
    patch = paths["/api/v1/tasks/{task_id}"]["patch"]["requestBody"]["content"]
    assert set(patch) == {"application/json", "application/merge-patch+json"}


def test_the_body_rules_are_in_the_schemas() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name in ("TaskCreate", "TaskUpdate", "CompletionBody", "RegisterBody", "LoginBody"):
        assert schemas[name]["additionalProperties"] is False, name
    create = schemas["TaskCreate"]["properties"]
    title = create["title"]
    assert (title["minLength"], title["maxLength"]) == (1, 255)
    assert "NFC" in title["description"]
    assert not re.search(title["pattern"], "   ")
    assert not re.search(title["pattern"], "bell \x07")
    assert re.search(title["pattern"], "Buy milk")
    assert create["tags"]["maxItems"] == 20
    assert create["tags"]["items"]["maxLength"] == 50
    assert schemas["TaskRead"]["properties"]["tags"]["uniqueItems"] is True
    assert schemas["Priority"]["enum"] == ["low", "medium", "high"]
    nullable = {"description", "due_date", "category"}
    for field, schema in create.items():
        takes_null = {"type": "null"} in schema.get("anyOf", [])
        assert takes_null == (field in nullable), field
    register = schemas["RegisterBody"]["properties"]
    assert register["email"]["format"] == "email"
    assert (register["password"]["minLength"], register["password"]["maxLength"]) == (8, 128)
    assert schemas["ProfileBody"]["dependentRequired"] == {"email": ["current_password"]}


def test_query_parameters_are_typed_without_null() -> None:
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in openapi_document()["paths"]["/api/v1/tasks"]["get"]["parameters"]
    }
    assert all("null" not in json.dumps(schema) for schema in parameters.values())
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 100}
    assert "-due_date" in parameters["sort"]["enum"]
    assert parameters["priority"]["maxItems"] == 50


def test_every_example_is_valid_against_its_schema() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    with_examples = [name for name, schema in schemas.items() if "examples" in schema]
    assert {"TaskCreate", "TaskUpdate", "TaskRead", "TokenPairRead", "Problem"} <= set(
        with_examples
    )
    for name in with_examples:
        validator = jsonschema_rs.Draft202012Validator(
            {**document, "$ref": f"#/components/schemas/{name}"}, validate_formats=True
        )
        for example in schemas[name]["examples"]:
            assert validator.is_valid(example), (name, example)


def test_timestamps_are_date_times() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for shape, name in (
        ("TaskRead", "created_at"),
        ("TaskRead", "updated_at"),
        ("TaskRead", "completed_at"),
        ("UserRead", "created_at"),
    ):
        prop = schemas[shape]["properties"][name]
        strings = [b for b in prop.get("anyOf", [prop]) if b.get("type") == "string"]
        assert [b["format"] for b in strings] == ["date-time"], (shape, name)
