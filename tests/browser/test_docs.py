"""``/docs`` in headless Chromium: Swagger UI renders every operation of the document with no
request leaving the app's origin and no CSP violation (the page watch fails the test on any)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Request, expect

from bench.servers import Server
from tests.browser.conftest import NewPage
from tests.browser.support import web_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with web_server(database_url, tmp_path_factory.mktemp("docs")) as server:
        yield server


def test_the_docs_render_offline_under_their_csp(server: Server, new_page: NewPage) -> None:
    page = new_page(server.base_url)
    elsewhere: list[str] = []

    def note(request: Request) -> None:
        if not request.url.startswith((server.base_url, "data:")):
            elsewhere.append(request.url)

    page.on("request", note)
    page.goto("/docs")
    expect(page.locator(".info .title")).to_contain_text("Todo API")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    document = page.request.get("/openapi.json").json()
    count = sum(
        1
        for item in document["paths"].values()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    )
    assert operations.count() == count
    page.locator(".opblock-summary", has_text="/api/v1/tasks").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert elsewhere == []
