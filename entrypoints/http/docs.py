"""The interactive docs at ``/docs``: Swagger UI served by the app itself, so it works without
internet access and under a Content-Security-Policy that allows this origin only.

The UI's files come from the ``swagger-ui-py`` package (it ships Swagger UI's release files);
the page and its start-up script are ours (no inline script or style). The files are read once,
when the app is built, and looked up by name in that table: no request is joined to a folder.
``/docs/openapi.json`` answers the same finished document as ``/openapi.json``."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.serialization import encode_json

from entrypoints.http.api_document import api_document


def _package_dir(name: str) -> Path:
    """A package's folder, found without running its code (``swagger_ui`` imports jinja2,
    which every worker would then carry, for three static files)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


SWAGGER_UI_DIR = _package_dir("swagger_ui") / "static"
OWN_DIR: Traversable = Path(__file__).resolve().parent / "docs_static"
ASSETS_PATH = "/docs/assets"
# name -> (folder, media type): the only files /docs/assets/ serves.
FILES: dict[str, tuple[Traversable, str]] = {
    "swagger-ui-bundle.js": (SWAGGER_UI_DIR, "text/javascript"),
    "swagger-ui.css": (SWAGGER_UI_DIR, "text/css"),
    "favicon-32x32.png": (SWAGGER_UI_DIR, "image/png"),
    "docs.js": (OWN_DIR, "text/javascript"),
}
PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Todo API docs</title>
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/docs.js"></script>
</body>
</html>
""".encode()


@dataclass(frozen=True, slots=True)
class DocsAsset:
    body: bytes
    media_type: str
    etag: str


def load_docs_assets() -> dict[str, DocsAsset]:
    assets = {}
    for name, (folder, media_type) in FILES.items():
        body = (folder / name).read_bytes()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        assets[name] = DocsAsset(body, media_type, etag)
    return assets


class SwaggerUIPage(OpenAPIRenderPlugin):
    """``/docs``: the page, and ``/docs/assets/...``: its files."""

    def __init__(self) -> None:
        super().__init__(path="/")
        self.assets = load_docs_assets()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return PAGE

    def receive_router(self, router: Router) -> None:
        assets = self.assets

        @get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
        def docs_asset(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
            asset = assets.get(name)
            if asset is None:
                raise NotFoundException()
            headers = {"etag": asset.etag, "cache-control": "no-cache"}
            sent = request.headers.get("if-none-match", "")
            if asset.etag in {tag.strip().removeprefix("W/") for tag in sent.split(",")}:
                return Response(b"", status_code=304, headers=headers)
            return Response(asset.body, media_type=asset.media_type, headers=headers)

        router.register(docs_asset)


class FinishedDocument(OpenAPIRenderPlugin):
    """``/docs/openapi.json``: the finished document, not the framework's draft of it."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=MediaType.JSON)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return encode_json(api_document(request.app))
