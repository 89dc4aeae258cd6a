"""The web app in headless Chromium (Debian's package, driven by Playwright; never a downloaded
browser) against a real `todo serve` on PostgreSQL. Every page is watched: a console error, an
uncaught exception or a CSP violation fails the test that caused it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, PageWatch

NewPage = Callable[..., Page]


@pytest.fixture(scope="module", autouse=True)
def chromium_present() -> None:
    """First of all, before any server starts: without Chromium there is nothing to drive."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is missing ({CHROMIUM}): `apt-get install chromium` runs the browser "
            "tests (CI's .ci/run does)"
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """``new_page(base_url)`` opens a page in a fresh context (its own storage, like another
    browser); at the end of the test every page opened must be clean."""
    contexts: list[BrowserContext] = []
    watches: list[PageWatch] = []

    def open_page(base_url: str, *, expected_errors: tuple[str, ...] = (), **options: Any) -> Page:
        options = {"viewport": {"width": 1000, "height": 800}, **options}
        context = browser.new_context(base_url=base_url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watches.append(PageWatch(page, expected_errors))
        return page

    yield open_page
    try:
        problems = [problem for watch in watches for problem in watch.problems()]
        assert problems == [], problems
    finally:
        for context in contexts:
            context.close()
