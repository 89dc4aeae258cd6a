"""The web app's core in a real browser: register, tasks (add, filters, search, every sort, load
more, edit, complete, star, delete with undo, clear completed), log out and in, log out everywhere,
two tabs editing one task, the keyboard, narrow screens and dark mode, and CORS from another
origin. Account settings and the password reset are in test_app_account.py."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from bench.servers import Server
from tests.browser.conftest import NewPage
from tests.browser.support import (
    PASSWORD,
    add_task,
    day,
    log_in,
    register,
    save_screenshot,
    stored_refresh_token,
    task_item,
    titles,
    web_server,
)
from tests.support.app import unique_email

pytestmark = pytest.mark.slow


class BlankPage(http.server.BaseHTTPRequestHandler):
    """Another site: a blank page whose scripts the tests run."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>elsewhere</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def other_site() -> Iterator[int]:
    """A page server on another port: another origin, as localhost and as 127.0.0.1."""
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BlankPage)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield site.server_address[1]
    site.shutdown()
    site.server_close()


@pytest.fixture(scope="module")
def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, other_site: int
) -> Iterator[Server]:
    # Only the other site's `localhost` origin is allowed: its `127.0.0.1` twin is not.
    with web_server(
        database_url,
        tmp_path_factory.mktemp("web"),
        CORS_ORIGINS=f"http://localhost:{other_site}",
    ) as server:
        yield server


def test_a_new_user_runs_through_the_whole_app(server: Server, new_page: NewPage) -> None:
    page = new_page(server.base_url)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"#/login$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("navigation")).to_be_hidden()

    # Register: the server's 422 is shown next to the field it names.
    email = unique_email("ada")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name (optional)").fill("Ada")
    page.get_by_label("Email").fill(email)
    password = page.get_by_label("Password", exact=True)
    password.fill("password")
    page.get_by_role("button", name="Create account").click()
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-password-error")).to_be_visible()
    expect(page.locator("#f-password-error")).not_to_be_empty()
    expect(page.get_by_role("alert")).to_be_visible()
    password.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.get_by_role("navigation")).to_be_visible()
    expect(page.get_by_text("Nothing to do yet. Add a task above.")).to_be_visible()
    expect(page.locator(".count")).to_have_text("No tasks")

    # A blank title is refused by the server, and said next to the field.
    form = page.get_by_role("form", name="Add a task")
    form.get_by_label("New task").fill("   ")
    form.get_by_label("New task").press("Enter")
    expect(form.get_by_label("New task")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-title-error")).to_be_visible()

    add_task(page, "Buy milk")
    expect(page.locator(".count")).to_have_text("Showing 1 of 1 task")
    add_task(page, "pay rent", due_date=day(-1), priority="low")
    add_task(
        page,
        "File taxes",
        description="Receipts are in the blue folder",
        due_date=day(0),
        priority="high",
        tags="home, Money",
        starred=True,
    )
    add_task(page, "Plan trip", due_date=day(10), priority="low", tags="travel")
    expect(page.locator(".count")).to_have_text("Showing 4 of 4 tasks")

    # Overdue and due today look different from later dates, and say so in words.
    rent = task_item(page, "pay rent")
    expect(rent).to_have_class(re.compile(r"\boverdue\b"))
    expect(rent.locator(".badge.due.overdue")).to_have_text(re.compile(r"^Overdue"))
    taxes = task_item(page, "File taxes")
    expect(taxes).not_to_have_class(re.compile(r"\boverdue\b"))
    expect(taxes).to_have_class(re.compile(r"\btoday\b"))
    expect(taxes.locator(".badge.due.today")).to_have_text("Due today")
    expect(task_item(page, "Plan trip").locator(".badge.due.later")).to_be_visible()
    expect(taxes.locator(".badge.priority")).to_have_text("high priority")
    expect(taxes.get_by_role("button", name="#money")).to_be_visible()  # tags lower-cased
    expect(taxes.get_by_role("button", name="Star: File taxes")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(taxes.locator(".description")).to_have_text("Receipts are in the blue folder")
    save_screenshot(page, "web-app.png")

    # Every sort, as the API orders them (ties by id, null due dates last both ways).
    sort = page.get_by_label("Sort")
    expected = {
        "-created_at": ["Plan trip", "File taxes", "pay rent", "Buy milk"],
        "created_at": ["Buy milk", "pay rent", "File taxes", "Plan trip"],
        "due_date": ["pay rent", "File taxes", "Plan trip", "Buy milk"],
        "-due_date": ["Plan trip", "File taxes", "pay rent", "Buy milk"],
        "-priority": ["File taxes", "Buy milk", "Plan trip", "pay rent"],
        "priority": ["pay rent", "Plan trip", "Buy milk", "File taxes"],
        "title": ["Buy milk", "File taxes", "pay rent", "Plan trip"],
        "-title": ["Plan trip", "pay rent", "File taxes", "Buy milk"],
        "-updated_at": ["Plan trip", "File taxes", "pay rent", "Buy milk"],
        "updated_at": ["Buy milk", "pay rent", "File taxes", "Plan trip"],
    }
    assert sorted(sort.locator("option").evaluate_all("os => os.map(o => o.value)")) == sorted(
        expected
    )
    for value, order in expected.items():
        with page.expect_response(re.compile(rf"/api/tasks\?sort={re.escape(value)}&")):
            sort.select_option(value)
        assert titles(page) == order, value
    sort.select_option("-created_at")

    # Search, priority and tag filters, alone and cleared.
    search = page.get_by_label("Search")
    search.fill("BLUE folder")  # the description, any case
    expect(page.locator("li.task .title")).to_have_text(["File taxes"])
    expect(page.locator(".count")).to_have_text("Showing 1 of 1 task")
    search.fill("")
    expect(page.locator("li.task")).to_have_count(4)
    priority = page.locator("#f-priority-filter")
    priority.select_option("low")
    expect(page.locator("li.task .title")).to_have_text(["Plan trip", "pay rent"])
    priority.select_option("")
    taxes.get_by_role("button", name="#home").click()  # a tag chip filters by that tag
    expect(page.locator("#f-tag-filter")).to_have_value("home")
    expect(page.locator("li.task .title")).to_have_text(["File taxes"])
    page.locator("#f-tag-filter").fill("")
    expect(page.locator("li.task")).to_have_count(4)

    # Complete and un-complete, with the status filter.
    page.get_by_role("checkbox", name="Done: Buy milk").click()
    expect(task_item(page, "Buy milk")).to_have_class(re.compile(r"\bdone\b"))
    page.get_by_role("radio", name="To do").check()
    expect(page.locator("li.task .title")).to_have_text(["Plan trip", "File taxes", "pay rent"])
    page.get_by_role("radio", name="Done").check()
    expect(page.locator("li.task .title")).to_have_text(["Buy milk"])
    page.get_by_role("checkbox", name="Done: Buy milk").click()  # leaves the "Done" list
    expect(page.get_by_text("No tasks match these filters.")).to_be_visible()
    page.get_by_role("radio", name="All").check()
    expect(page.locator("li.task")).to_have_count(4)
    expect(task_item(page, "Buy milk")).not_to_have_class(re.compile(r"\bdone\b"))

    # Star, then edit in the dialog (Escape cancels; Save sends If-Match).
    page.get_by_role("button", name="Star: Buy milk").click()
    expect(page.get_by_role("button", name="Star: Buy milk")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Edit: Buy milk").click()
    dialog = page.get_by_role("dialog", name="Edit task")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_be_focused()
    dialog.get_by_label("Title").fill("Thrown away")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(task_item(page, "Buy milk")).to_be_visible()
    page.get_by_role("button", name="Edit: Buy milk").click()
    expect(dialog.get_by_label("Starred")).to_be_checked()
    dialog.get_by_label("Title").fill("Buy oat milk")
    dialog.get_by_label("Description").fill("Two cartons")
    dialog.get_by_label("Tags").fill("shop")
    with page.expect_request(lambda r: r.method == "PATCH") as patch:
        dialog.get_by_role("button", name="Save").click()
    # Version 4: created, completed, un-completed, starred.
    assert patch.value.headers["if-match"] == '"4"'
    expect(dialog).to_be_hidden()
    milk = task_item(page, "Buy oat milk")
    expect(milk.locator(".description")).to_have_text("Two cartons")
    expect(milk.get_by_role("button", name="#shop")).to_be_visible()

    # Delete with undo, then for good.
    page.get_by_role("button", name="Delete: Plan trip").click()
    expect(task_item(page, "Plan trip")).to_have_count(0)
    expect(page.locator(".count")).to_have_text("Showing 3 of 3 tasks")
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(
        page.get_by_role("status").get_by_text("Restored \u201cPlan trip\u201d.")
    ).to_be_visible()
    restored = task_item(page, "Plan trip")
    expect(restored).to_be_visible()
    expect(restored.get_by_role("button", name="#travel")).to_be_visible()
    expect(restored.locator(".badge.priority")).to_have_text("low priority")
    page.get_by_role("button", name="Delete: Plan trip").click()
    expect(task_item(page, "Plan trip")).to_have_count(0)

    # Clear completed, after a confirmation.
    page.get_by_role("checkbox", name="Done: Buy oat milk").click()
    expect(task_item(page, "Buy oat milk")).to_have_class(re.compile(r"\bdone\b"))
    page.get_by_role("checkbox", name="Done: pay rent").click()
    expect(task_item(page, "pay rent")).to_have_class(re.compile(r"\bdone\b"))
    expect(task_item(page, "pay rent")).not_to_have_class(re.compile(r"\boverdue\b"))
    page.get_by_role("button", name="Clear completed").click()
    confirm = page.get_by_role("dialog")
    confirm.get_by_role("button", name="Cancel").click()
    expect(page.locator("li.task")).to_have_count(3)
    page.get_by_role("button", name="Clear completed").click()
    confirm.get_by_role("button", name="Clear completed").click()
    expect(page.get_by_role("status").get_by_text("Cleared 2 completed tasks.")).to_be_visible()
    expect(page.locator("li.task .title")).to_have_text(["File taxes"])

    # Load more follows the Link header; the count is X-Total-Count.
    page.evaluate(
        """async () => {
            const api = await import("/static/js/api.js");
            for (let i = 1; i <= 55; i++) {
              await api.call("POST", "/tasks", { body: { title: `Bulk ${i}` } });
            }
        }"""
    )
    page.reload()  # the stored refresh token brings the session back
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.locator(".count")).to_have_text("Showing 50 of 56 tasks")
    expect(page.locator("li.task")).to_have_count(50)
    assert page.evaluate("window.__layoutShift") < 0.05  # the list filled reserved room
    with page.expect_response(lambda r: "cursor=" in r.url) as more:
        page.get_by_role("button", name="Load more").click()
    assert more.value.status == 200
    expect(page.locator(".count")).to_have_text("Showing 56 of 56 tasks")
    expect(page.locator("li.task")).to_have_count(56)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    assert titles(page)[-1] == "File taxes"

    # Log out, then back in.
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert stored_refresh_token(page) is None
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("wrong password here")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or password is wrong.")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".count")).to_have_text("Showing 50 of 56 tasks")

    # Log out everywhere (from the account page): this page and the session are over.
    refresh_token = stored_refresh_token(page)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    page.get_by_role("button", name="Log out everywhere").click()
    page.get_by_role("dialog").get_by_role("button", name="Log out everywhere").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    answer = httpx.post(
        f"{server.base_url}/api/auth/refresh", json={"refresh_token": refresh_token}
    )
    assert answer.status_code == 401


def test_two_tabs_editing_one_task_the_second_sees_the_conflict(
    server: Server, new_page: NewPage
) -> None:
    email = unique_email("tabs")
    first = new_page(server.base_url)
    register(first, email)
    add_task(first, "Shared task")
    second = new_page(server.base_url)
    second.goto("/")
    log_in(second, email)
    expect(task_item(second, "Shared task")).to_be_visible()

    first.get_by_role("button", name="Edit: Shared task").click()
    second.get_by_role("button", name="Edit: Shared task").click()
    first_dialog = first.get_by_role("dialog", name="Edit task")
    second_dialog = second.get_by_role("dialog", name="Edit task")
    first_dialog.get_by_label("Title").fill("Edited in the first tab")
    first_dialog.get_by_role("button", name="Save").click()
    expect(first_dialog).to_be_hidden()
    expect(task_item(first, "Edited in the first tab")).to_be_visible()

    second_dialog.get_by_label("Title").fill("Edited in the second tab")
    with second.expect_response(lambda r: r.request.method == "PATCH") as answer:
        second_dialog.get_by_role("button", name="Save").click()
    assert answer.value.status == 412
    expect(second_dialog).to_be_visible()
    expect(second_dialog.get_by_role("alert")).to_contain_text(
        "This task was changed somewhere else"
    )
    expect(second_dialog.get_by_role("alert")).to_contain_text("your changes were not saved")
    second_dialog.get_by_role("button", name="Load the latest version").click()
    expect(second_dialog.get_by_label("Title")).to_have_value("Edited in the first tab")
    expect(second_dialog.get_by_role("alert")).to_be_hidden()
    second_dialog.get_by_label("Description").fill("Seen both")
    second_dialog.get_by_role("button", name="Save").click()
    expect(second_dialog).to_be_hidden()
    expect(task_item(second, "Edited in the first tab").locator(".description")).to_have_text(
        "Seen both"
    )
    first.reload()
    expect(task_item(first, "Edited in the first tab").locator(".description")).to_have_text(
        "Seen both"
    )


def test_keyboard_only_narrow_screen_and_dark_mode(server: Server, new_page: NewPage) -> None:
    page = new_page(server.base_url, viewport={"width": 360, "height": 740}, color_scheme="dark")
    register(page, unique_email("keys"))
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 19, 28)"  # the dark palette

    # Tab from the page heading to the new-task field; Enter adds.
    title = page.get_by_label("New task")
    for _ in range(5):
        if page.evaluate("document.activeElement.id") == "f-title":
            break
        page.keyboard.press("Tab")
    expect(title).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.type("Typed, never clicked")
    page.keyboard.press("Enter")
    expect(task_item(page, "Typed, never clicked")).to_be_visible()
    expect(title).to_be_focused()
    page.keyboard.type("Changed my mind")
    page.keyboard.press("Escape")  # Escape empties the field
    expect(title).to_have_value("")

    # Space completes; Enter opens the editor; Escape closes it and gives focus back.
    check = page.get_by_role("checkbox", name="Done: Typed, never clicked")
    check.focus()
    page.keyboard.press("Space")
    expect(check).to_be_checked()
    expect(task_item(page, "Typed, never clicked")).to_have_class(re.compile(r"\bdone\b"))
    edit = page.get_by_role("button", name="Edit: Typed, never clicked")
    edit.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Edit task")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Edit task")).to_be_hidden()
    expect(edit).to_be_focused()

    # Nothing is wider than a 360 px screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_page_from_a_disallowed_origin_cannot_read_the_api(
    server: Server, other_site: int, new_page: NewPage
) -> None:
    """The browser enforces CORS: a script on another site gets nothing back from the API
    unless that site's origin is in CORS_ORIGINS."""
    fetch_tasks = f"""async () => {{
        try {{
            const response = await fetch("{server.base_url}/api/tasks", {{
                headers: {{ Authorization: "Bearer not-a-token" }},
            }});
            return {{ status: response.status, requestId: response.headers.get("X-Request-ID") }};
        }} catch (error) {{
            return {{ error: String(error) }};
        }}
    }}"""
    allowed = new_page(f"http://localhost:{other_site}")
    allowed.goto("/")
    result = allowed.evaluate(fetch_tasks)
    assert result["status"] == 401, result  # the preflight passed and the answer is readable
    assert result["requestId"], result  # an exposed header

    # Chromium logs the refusal as a console error: expected here, and asserted.
    blocked = new_page(
        f"http://127.0.0.1:{other_site}", expected_errors=("CORS policy", "net::ERR_FAILED")
    )
    refusals: list[str] = []
    blocked.on("console", lambda message: refusals.append(message.text))
    blocked.goto("/")
    result = blocked.evaluate(fetch_tasks)
    assert result == {"error": "TypeError: Failed to fetch"}
    assert any("blocked by CORS policy" in text for text in refusals), refusals


def test_the_page_watch_catches_a_csp_violation(server: Server, browser: Any) -> None:
    """The guard the other tests rely on works: inline style is refused by the app's CSP, and
    the watch reports it."""
    from tests.browser.support import PageWatch

    context = browser.new_context(base_url=server.base_url)
    try:
        page: Page = context.new_page()
        watch = PageWatch(page)
        page.goto("/")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        assert watch.problems() == []
        page.evaluate(
            """() => {
                const probe = document.createElement("div");
                probe.setAttribute("style", "color: red");
                document.body.append(probe);
            }"""
        )
        page.wait_for_function("window.__cspViolations.length > 0")
        assert any(problem.startswith("CSP: style-src") for problem in watch.problems())
    finally:
        context.close()
