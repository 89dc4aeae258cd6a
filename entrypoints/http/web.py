"""The single-page app: ``/`` answers its page and ``/static/...`` its assets, nothing more.

Only these paths are the app's: an unknown ``/api/...`` or ``/static/...`` path stays a 404
problem (routing comes first; the app routes with ``#/...`` fragments, which never reach us).
The files are read once, when the app is built: a path is looked up in that table, never joined
to a folder, so no request can reach another file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE = "index.html"
MEDIA_TYPES = {  # Litestar adds `; charset=utf-8` to text types itself
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
# No build step fingerprints the file names, so browsers keep the files but ask before each use:
# a deploy is seen on the next load, and an unchanged file costs a 304 without a body.
REVALIDATE = "no-cache"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str  # strong: a digest of the content


def load_assets(root: Path) -> dict[str, Asset]:
    """Every file of a known kind under ``root``, by its path relative to it."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        assets[path.relative_to(root).as_posix()] = Asset(body, media_type, etag)
    return assets


def _unchanged(request: Request[Any, Any, Any], asset: Asset) -> bool:
    """``If-None-Match`` names this version (compared weakly, as RFC 9110 says)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or asset.etag in tags


def _answer(request: Request[Any, Any, Any], asset: Asset) -> Response[bytes]:
    headers = {"etag": asset.etag, "cache-control": REVALIDATE}
    if _unchanged(request, asset):
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def web_app_routes(root: Path = STATIC_DIR) -> list[Any]:
    assets = load_assets(root)
    page = assets[PAGE]

    @get("/", include_in_schema=False)
    async def app_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _answer(request, page)

    @get("/static/{path:path}", include_in_schema=False)
    async def app_asset(request: Request[Any, Any, Any], path: FromPath[str]) -> Response[bytes]:
        asset = assets.get(path.removeprefix("/"))
        if asset is None:
            raise NotFoundException()
        return _answer(request, asset)

    return [app_page, app_asset]
