"""What the browser tests share: the server they drive, the watch on every page, and the steps a
person takes in the app (register, log in, add a task) written once."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Error, Locator, Page, expect

from bench.servers import Server, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
DOCS = Path(__file__).resolve().parents[2] / "docs"

# Added to every page before its own scripts: CSP violations and layout shifts, kept for asserts.
WATCH_SCRIPT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
window.__layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  }
}).observe({ type: "layout-shift", buffered: true });
"""


class PageWatch:
    """Console errors, uncaught exceptions and CSP violations of one page. A 4xx answer the app
    handles is logged by Chromium as "Failed to load resource": expected, not a fault; a 5xx is."""

    def __init__(self, page: Page, expected_errors: tuple[str, ...] = ()) -> None:
        self.page = page
        self.expected_errors = expected_errors  # console errors a test provokes on purpose
        self.errors: list[str] = []
        page.add_init_script(WATCH_SCRIPT)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if "Failed to load resource" in message.text and "status of 4" in message.text:
            return
        if any(expected in message.text for expected in self.expected_errors):
            return
        self.errors.append(f"console: {message.text}")

    def csp_violations(self) -> list[str]:
        with contextlib.suppress(Error):  # a page already closed has nothing left to tell
            found: list[str] = self.page.evaluate("window.__cspViolations")
            return found
        return []

    def problems(self) -> list[str]:
        return [*self.errors, *(f"CSP: {v}" for v in self.csp_violations())]


@contextlib.contextmanager
def web_server(
    database_url: str, log_dir: Path, *, port: int | None = None, **environment: str
) -> Iterator[Server]:
    """`todo serve` with ``environment``; its log is checked on the way out: no ERROR, no 500."""
    with running_server(
        "project",
        database_url,
        log_dir,
        port=port,
        environment={"LOG_LEVEL": "INFO", **environment},
    ) as server:
        yield server
    log = server.log_path.read_text(errors="replace")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert not [line for line in lines if line.get("level") in ("error", "critical")], log
    assert not [line for line in lines if line.get("status", 0) >= 500], log


def save_screenshot(page: Page, name: str) -> None:
    """With `UPDATE_SCREENSHOTS=1`, refresh the README's picture under docs/."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        page.evaluate("document.getElementById('toasts').replaceChildren()")
        page.evaluate("document.activeElement.blur()")
        page.screenshot(path=str(DOCS / name), full_page=True)


def day(offset: int) -> str:
    """A date ``offset`` days from today where the browser is (both run on this machine)."""
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def register(page: Page, email: str, password: str = PASSWORD, name: str = "") -> None:
    page.goto("/#/register")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    if name:
        page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()


def add_task(page: Page, title: str, **details: str | bool) -> None:
    """Type a task into the add form; ``details`` fill the "More options" fields by label."""
    form = page.get_by_role("form", name="Add a task")
    if details:
        more = form.locator("details")
        if more.get_attribute("open") is None:
            form.get_by_text("More options").click()
        for label, value in details.items():
            field = form.get_by_label(label.replace("_", " ").capitalize(), exact=True)
            if isinstance(value, bool):
                field.set_checked(value)
            elif label == "priority":
                field.select_option(value)
            else:
                field.fill(value)
    form.get_by_label("New task").fill(title)
    form.get_by_label("New task").press("Enter")
    expect(page.get_by_role("status").get_by_text(f"Added \u201c{title}\u201d.")).to_be_visible()
    expect(task_item(page, title)).to_be_visible()


def stored_refresh_token(page: Page) -> str | None:
    """What the app keeps between page loads (IndexedDB, through its own module)."""
    token: str | None = page.evaluate(
        'async () => (await import("/static/js/token_store.js")).readToken()'
    )
    return token


def task_item(page: Page, title: str) -> Locator:
    return page.locator("li.task").filter(
        has=page.locator(".title", has_text=re.compile(f"^{re.escape(title)}$"))
    )


def titles(page: Page) -> list[str]:
    expect(page.locator("ul.tasks")).not_to_have_attribute("aria-busy", "true")
    found: list[str] = page.locator("li.task .title").all_inner_texts()
    return found
