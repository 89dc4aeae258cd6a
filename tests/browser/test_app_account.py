"""The account side of the web app in a real browser: the account page (name, email, password,
delete with confirmation), "forgot password" with the email caught by an SMTP server in the test
and its link opened in the page, and task categories."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from bench.servers import Server, free_port
from tests.browser.conftest import NewPage
from tests.browser.support import PASSWORD, add_task, log_in, register, task_item, web_server
from tests.support.app import unique_email

pytestmark = pytest.mark.slow

NEW_PASSWORD = "a brand new passphrase"
MAIL_WAIT_SECONDS = 15


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str) -> EmailMessage:
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        while time.monotonic() < deadline:
            if found := self.to(address):
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no email to {address} within {MAIL_WAIT_SECONDS} s")


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, inbox: Inbox
) -> Iterator[Server]:
    port = free_port()  # known before the start: the reset link names it
    with web_server(
        database_url,
        tmp_path_factory.mktemp("account"),
        port=port,
        SMTP_URL=f"smtp://127.0.0.1:{inbox.port}",
        MAIL_FROM="Todo <todo@example.com>",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    ) as server:
        yield server


def reset_link(message: EmailMessage) -> str:
    body = message.get_body(("plain", "html"))
    assert body is not None
    found = re.search(r"https?://[^\s\"'<>]+/#/reset\?token=[^\s\"'<>]+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


def open_account(page: Page) -> None:
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()


def test_the_account_page_changes_name_email_and_password_and_deletes(
    server: Server, new_page: NewPage
) -> None:
    page = new_page(server.base_url)
    email = unique_email("grace")
    register(page, email, name="Grace")
    add_task(page, "Compile the compiler")
    open_account(page)
    expect(page.get_by_text(f"Logged in as {email}")).to_be_visible()

    # Name: saved, and still there after a reload.
    name = page.locator("#account-name")
    expect(name).to_have_value("Grace")
    name.fill("Grace Hopper")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Profile saved.")
    page.reload()
    expect(page.locator("#account-name")).to_have_value("Grace Hopper")

    # Email: needs the current password; a wrong one is refused and the session stays.
    new_email = unique_email("hopper")
    profile = page.get_by_role("form", name="Profile")
    page.locator("#account-email").fill(new_email)
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("alert")).to_be_visible()
    expect(page.locator("#account-current-password")).to_have_attribute("aria-invalid", "true")
    page.locator("#account-current-password").fill("not my password")
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("alert")).to_contain_text("wrong")
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    page.locator("#account-current-password").fill(PASSWORD)
    profile.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text(f"Logged in as {new_email}")).to_be_visible()

    # Password: a wrong current one, then a common new one, are refused and said.
    passwords = page.get_by_role("form", name="Password")
    page.locator("#pw-current").fill("not my password")
    page.locator("#pw-new").fill(NEW_PASSWORD)
    passwords.get_by_role("button", name="Change password").click()
    expect(passwords.get_by_role("alert")).to_contain_text("wrong")
    page.locator("#pw-current").fill(PASSWORD)
    page.locator("#pw-new").fill("password")
    passwords.get_by_role("button", name="Change password").click()
    expect(page.locator("#pw-new")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pw-new-error")).not_to_be_empty()
    page.locator("#pw-new").fill(NEW_PASSWORD)
    passwords.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed.")

    # The new email and password are the ones that log in now.
    page.get_by_role("button", name="Log out", exact=True).click()
    log_in(page, new_email, NEW_PASSWORD)
    expect(task_item(page, "Compile the compiler")).to_be_visible()

    # Delete: the password, then a confirmation; Cancel keeps everything.
    open_account(page)
    deletion = page.get_by_role("form", name="Delete account")
    page.locator("#delete-password").fill("not my password")
    deletion.get_by_role("button", name="Delete my account").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete for good").click()
    expect(deletion.get_by_role("alert")).to_contain_text("wrong")
    page.locator("#delete-password").fill(NEW_PASSWORD)
    deletion.get_by_role("button", name="Delete my account").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    deletion.get_by_role("button", name="Delete my account").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete for good").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your account is deleted.")
    page.get_by_label("Email").fill(new_email)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("email or password is wrong")


def test_forgot_password_sends_a_link_that_sets_a_new_password_once(
    server: Server, inbox: Inbox, new_page: NewPage
) -> None:
    page = new_page(server.base_url)
    email = unique_email("forgetful")
    register(page, email)
    add_task(page, "Kept through the reset")
    page.get_by_role("button", name="Log out", exact=True).click()

    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(
        page.get_by_role("status").filter(has_text="a link to choose a new password")
    ).to_be_visible()

    link = reset_link(inbox.wait_for(email))
    assert link.startswith(f"{server.base_url}/#/reset?token=")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("password")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed.")
    log_in(page, email, NEW_PASSWORD)
    expect(task_item(page, "Kept through the reset")).to_be_visible()

    # The link works once.
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("yet another passphrase")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()

    # An unknown email gets the same answer on the page, and no mail.
    page.goto("/#/forgot")
    stranger = unique_email("nobody")
    page.get_by_label("Email").fill(stranger)
    page.get_by_role("button", name="Send reset link").click()
    expect(
        page.get_by_role("status").filter(has_text="a link to choose a new password")
    ).to_be_visible()
    time.sleep(1)
    assert inbox.to(stranger) == []


def test_categories_are_set_shown_filtered_and_cleared(server: Server, new_page: NewPage) -> None:
    page = new_page(server.base_url)
    register(page, unique_email("categories"))
    add_task(page, "Quarterly report", category="Work")
    add_task(page, "Dentist", category="personal")
    add_task(page, "Uncategorised")
    expect(task_item(page, "Quarterly report").locator(".badge.category")).to_have_text("Work")
    expect(task_item(page, "Uncategorised").locator(".badge.category")).to_have_count(0)

    page.locator("#f-category-filter").fill("WORK")  # compared case-insensitively
    expect(page.locator("li.task .title")).to_have_text(["Quarterly report"])
    page.locator("#f-category-filter").fill("")
    expect(page.locator("li.task")).to_have_count(3)

    page.get_by_role("button", name="Edit: Dentist").click()
    dialog = page.get_by_role("dialog", name="Edit task")
    expect(dialog.get_by_label("Category")).to_have_value("personal")
    dialog.get_by_label("Category").fill("Health")
    dialog.get_by_role("button", name="Save").click()
    expect(task_item(page, "Dentist").locator(".badge.category")).to_have_text("Health")
    page.get_by_role("button", name="Edit: Dentist").click()
    dialog.get_by_label("Category").fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(task_item(page, "Dentist").locator(".badge.category")).to_have_count(0)
