"""``/docs`` works with no internet access: the page and every file it loads come from the app
itself, under a Content-Security-Policy that allows this origin only, and the document it shows
is the one at ``/openapi.json``."""

from __future__ import annotations

import re

import httpx

from tests.support.app import make_settings, serve

DOCS_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = response.headers["content-security-policy"].split(";")
    return {name: sources for name, *sources in (d.split() for d in directives if d.strip())}


async def test_the_docs_page_loads_only_files_the_app_serves() -> None:
    async with serve(make_settings()) as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert policy(page) == DOCS_CSP
        assert "<script>" not in page.text  # no inline code
        assert "<style" not in page.text
        assert " style=" not in page.text
        links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(links) == 4
        for link in links:
            assert link.startswith("/docs/assets/"), link  # this origin, never a CDN
            asset = await client.get(link)
            assert asset.status_code == 200, link
            assert policy(asset) == DOCS_CSP
            assert asset.headers["content-type"].split(";")[0] in {
                "text/javascript",
                "text/css",
                "image/png",
            }
            again = await client.get(link, headers={"if-none-match": asset.headers["etag"]})
            assert again.status_code == 304
        bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
        assert len(bundle.content) > 500_000  # Swagger UI itself, from the package
        assert "https://" not in (await client.get("/docs/assets/docs.js")).text


async def test_only_the_listed_files_are_served() -> None:
    async with serve(make_settings()) as client:
        for path in (
            "/docs/assets/nope.js",
            "/docs/assets/..%2F..%2Fapp.py",
            "/docs/assets/swagger-editor-bundle.js",  # in the package, not used: not served
            "/docs/nothing",
        ):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"


async def test_the_docs_show_the_finished_document() -> None:
    async with serve(make_settings()) as client:
        served = (await client.get("/openapi.json")).json()
        assert (await client.get("/docs/openapi.json")).json() == served
        assert served["paths"]["/api/v1/tasks"]["post"]["operationId"] == "createTask"
    # The API's own routes keep the strict policy.
    async with serve(make_settings()) as client:
        assert policy(await client.get("/openapi.json"))["default-src"] == ["'none'"]
        assert "script-src" not in policy(await client.get("/openapi.json"))
