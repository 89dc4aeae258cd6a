"""Tokens in a real browser, with one-second access tokens: an expired one is refreshed once,
transparently, and the request retried; concurrent requests share one refresh (a rotated token
is never presented twice, which would end the session); a session ended elsewhere, or a refresh
that fails, logs the page out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, Request, Response, expect

from adapters.security.jwt_tokens import LEEWAY_SECONDS
from bench.servers import Server
from tests.browser.conftest import NewPage
from tests.browser.support import (
    PASSWORD,
    PageWatch,
    add_task,
    log_in,
    register,
    stored_refresh_token,
    task_item,
    titles,
    web_server,
)
from tests.support.app import unique_email

pytestmark = pytest.mark.slow

ACCESS_TOKEN_HOURS = 1 / 3600  # one second
PAST_EXPIRY_MS = int((1 + LEEWAY_SECONDS + 1.5) * 1000)  # the server's leeway, and a margin


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with web_server(
        database_url,
        tmp_path_factory.mktemp("tokens"),
        JWT_EXPIRATION_HOURS=str(ACCESS_TOKEN_HOURS),
    ) as server:
        yield server


class Traffic:
    """The page's refreshes, and the statuses of its task requests, in order."""

    def __init__(self, page: Page) -> None:
        self.refreshes: list[Request] = []
        self.task_statuses: list[int] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request: Request) -> None:
        if request.url.endswith("/api/auth/refresh"):
            self.refreshes.append(request)

    def _response(self, response: Response) -> None:
        if "/api/tasks" in response.url:
            self.task_statuses.append(response.status)


def end_every_session(server: Server, email: str) -> None:
    """What "log out everywhere" on another device does."""
    with httpx.Client(base_url=server.base_url) as client:
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        ended = client.post("/api/auth/logout-all", headers={"Authorization": f"Bearer {token}"})
        assert ended.status_code == 204


def test_an_expired_access_token_is_refreshed_once_and_the_request_retried(
    server: Server, new_page: NewPage
) -> None:
    page = new_page(server.base_url)
    traffic = Traffic(page)
    email = unique_email("expiry")
    register(page, email)
    add_task(page, "Before expiry")
    assert traffic.refreshes == []

    # A person's action after expiry: the POST is refused as expired, then retried and done.
    page.wait_for_timeout(PAST_EXPIRY_MS)
    traffic.task_statuses.clear()
    add_task(page, "After expiry")
    assert len(traffic.refreshes) == 1
    assert traffic.task_statuses[:2] == [401, 201]
    expect(page.get_by_role("alert")).to_have_count(0)
    assert titles(page) == ["After expiry", "Before expiry"]

    # Five requests at once after expiry: one refresh between them, and all five answered.
    page.wait_for_timeout(PAST_EXPIRY_MS)
    sizes = page.evaluate(
        """async () => {
            const api = await import("/static/js/api.js");
            const lists = await Promise.all(
              Array.from({ length: 5 }, () => api.call("GET", "/tasks")),
            );
            return lists.map((list) => list.length);
        }"""
    )
    assert sizes == [2, 2, 2, 2, 2]
    assert len(traffic.refreshes) == 2
    bodies = [json.loads(request.post_data or "{}") for request in traffic.refreshes]
    assert len({body["refresh_token"] for body in bodies}) == 2  # rotated, never one twice
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()

    # The stored refresh token survives a reload: the page is still logged in.
    page.reload()
    expect(page.locator("li.task")).to_have_count(2)
    assert len(traffic.refreshes) == 3


def test_a_session_ended_elsewhere_logs_the_page_out(server: Server, new_page: NewPage) -> None:
    page = new_page(server.base_url)
    email = unique_email("ended")
    register(page, email)
    add_task(page, "Still here")

    # The access token is still fresh, but its session is over: the next request says so.
    end_every_session(server, email)
    page.get_by_role("radio", name="Done").click()  # the list reloads
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    assert stored_refresh_token(page) is None


def test_a_refresh_that_fails_logs_the_page_out(server: Server, new_page: NewPage) -> None:
    page = new_page(server.base_url)
    traffic = Traffic(page)
    email = unique_email("refresh-fails")
    register(page, email)
    add_task(page, "Before expiry")

    # Expired access token, and a refresh token whose session has ended meanwhile.
    page.wait_for_timeout(PAST_EXPIRY_MS)
    end_every_session(server, email)
    with page.expect_response(re.compile(r"/api/auth/refresh$")) as refresh:
        page.get_by_role("radio", name="Done").click()  # the list reloads
    assert refresh.value.status == 401
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    assert len(traffic.refreshes) == 1
    assert stored_refresh_token(page) is None

    # Logging in again works, and the tasks are there.
    log_in(page, email)
    expect(page.locator("li.task .title")).to_have_text(["Before expiry"])


def test_two_tabs_refreshing_at_once_take_turns_and_stay_logged_in(
    server: Server, new_page: NewPage
) -> None:
    """Tabs of one browser share the stored refresh token. Were both to present it at once, the
    second use would count as reuse and end the session; they take turns instead."""
    first = new_page(server.base_url)
    traffic = Traffic(first)
    register(first, unique_email("tabs"))
    add_task(first, "Seen by both tabs")
    second = first.context.new_page()
    watch = PageWatch(second)
    traffic_second = Traffic(second)
    second.goto("/")
    expect(task_item(second, "Seen by both tabs")).to_be_visible()
    assert len(traffic_second.refreshes) == 1  # a new tab starts from the stored token
    traffic_second.refreshes.clear()

    first.wait_for_timeout(PAST_EXPIRY_MS)
    # Both tabs wait for one broadcast, so their requests (and refreshes) start together.
    ready = """() => {
        window.__answer = new Promise((resolve) => {
          new BroadcastChannel("go").onmessage = resolve;
        })
          .then(() => import("/static/js/api.js"))
          .then((api) => api.call("GET", "/tasks"))
          .then((list) => list.length, (error) => String(error));
    }"""
    first.evaluate(ready)
    second.evaluate(ready)
    first.evaluate("new BroadcastChannel('go').postMessage('now')")
    assert first.evaluate("window.__answer") == 1
    assert second.evaluate("window.__answer") == 1
    assert len(traffic.refreshes) == 1
    assert len(traffic_second.refreshes) == 1
    tokens = {
        json.loads(request.post_data or "{}")["refresh_token"]
        for request in [*traffic.refreshes, *traffic_second.refreshes]
    }
    assert len(tokens) == 2  # the second tab used the token the first had rotated

    # Both stay logged in; logging out in one tab logs the other out too.
    second.reload()
    expect(task_item(second, "Seen by both tabs")).to_be_visible()
    first.get_by_role("button", name="Log out", exact=True).click()
    expect(first.get_by_role("heading", name="Log in")).to_be_visible()
    expect(second.get_by_role("heading", name="Log in")).to_be_visible()
    assert watch.problems() == []
