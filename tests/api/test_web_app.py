"""The web app's files at ``/`` and ``/static/...``: served under a CSP of their own, while every
other path keeps the API's rules (routing first, 404 problems, the strict CSP, no-store)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from entrypoints.http.middleware import APP_CSP, STRICT_CSP
from entrypoints.http.web import STATIC_DIR, load_assets
from tests.support.app import make_settings, serve


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_settings("memory")) as client:
        yield client


async def test_the_page_at_root_is_the_app_under_its_own_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == APP_CSP.decode()
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/static/js/main.js"></script>' in response.text


async def test_the_page_has_no_inline_script_or_style() -> None:
    """The CSP would block them: every script and stylesheet is a file of its own."""
    page = (STATIC_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/static/js/main.js", "text/javascript; charset=utf-8"),
        ("/static/js/api.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "text/css; charset=utf-8"),
        ("/static/icon.svg", "image/svg+xml"),
    ],
)
async def test_assets_are_served_with_their_type_and_revalidated(
    client: httpx.AsyncClient, path: str, media_type: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["content-security-policy"] == APP_CSP.decode()
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_an_unchanged_asset_is_a_304_without_a_body(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/js/main.js")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong, from the content
    again = await client.get("/static/js/main.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-cache"
    weak = await client.get("/static/js/main.js", headers={"if-none-match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    other = await client.get("/static/js/api.js", headers={"if-none-match": etag})
    assert other.status_code == 200
    assert other.headers["etag"] != etag
    page = await client.get("/", headers={"if-none-match": (await client.get("/")).headers["etag"]})
    assert page.status_code == 304


def test_only_files_of_known_kinds_are_served(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export {};")
    (tmp_path / "notes.txt").write_text("not for the browser")
    (tmp_path / "server.py").write_text("secret = 1")
    assert sorted(load_assets(tmp_path)) == ["index.html", "js/a.js"]


def test_every_module_the_app_imports_exists() -> None:
    """A typo in an import path would only show as a blank page in a browser."""
    for module in (STATIC_DIR / "js").glob("*.js"):
        for target in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert (STATIC_DIR / "js" / target).is_file(), f"{module.name} imports {target}"


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope",
        "/api/v1/nope",
        "/static/nope.js",
        "/static/",
        "/static/js",
        "/static/../pyproject.toml",
        "/static/%2e%2e/entrypoints/settings.py",
        "/index.html",
        "/tasks",
        "/app.css",
    ],
)
async def test_other_paths_stay_404_problems(client: httpx.AsyncClient, path: str) -> None:
    """Only ``/`` and the asset files are the app's: an unknown path is never the page."""
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_api_routes_keep_the_strict_csp_and_no_store(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tasks")
    assert response.status_code == 401
    assert response.headers["content-security-policy"] == STRICT_CSP.decode()
    assert response.headers["cache-control"] == "no-store"


async def test_the_app_is_not_in_the_api_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/static")]
