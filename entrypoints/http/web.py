"""The single-page app: ``/`` answers its page and ``/static/...`` its assets, nothing more.

Only these paths are the app's: an unknown ``/api/...`` or ``/static/...`` path stays a 404
problem (routing comes first; the app routes with ``#/...`` fragments, which never reach us)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import MediaType, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
# No build step fingerprints the files, so browsers keep them but ask (ETag) before reuse:
# a deploy is seen on the next load, and an unchanged file costs a 304.
REVALIDATE = CacheControlHeader(no_cache=True)


@get("/", media_type=MediaType.HTML, include_in_schema=False, cache_control=REVALIDATE)
async def app_page() -> File:
    return File(STATIC_DIR / "index.html", filename="index.html", content_disposition_type="inline")


def web_app_routes() -> list[Any]:
    assets = create_static_files_router(
        STATIC_PREFIX,
        directories=[STATIC_DIR],
        cache_control=REVALIDATE,
        include_in_schema=False,
        name="web-assets",
    )
    return [app_page, assets]
