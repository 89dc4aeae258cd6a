"""Print the OpenAPI document (`make openapi` writes it to openapi.json)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from entrypoints.http.api_document import api_document
from entrypoints.http.app import build_litestar
from entrypoints.ioc import make_container
from entrypoints.settings import Settings


def openapi_document() -> dict[str, Any]:
    settings = msgspec.convert({"app_env": "test", "todo_storage": "memory"}, Settings)
    return api_document(build_litestar(make_container(settings), settings))


def main() -> None:
    print(json.dumps(openapi_document(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
