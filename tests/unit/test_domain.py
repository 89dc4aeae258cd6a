"""Domain rules, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import ValidationFailed
from domain.task_listing import SortField, TaskFilter, TaskSort
from domain.tasks import (
    KEEP,
    Priority,
    TaskChanges,
    apply_changes,
    clean_changes,
    clean_tags,
    new_task,
)
from domain.text import check_text
from domain.users import check_email, check_password, email_key

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def fields(error: ValidationFailed) -> set[str]:
    return {e.field for e in error.errors}


def test_text_is_nfc_normalised_and_trimmed() -> None:
    cleaned, error = check_text("title", "\u2003 Cafe\u0301 \n", min_length=1, max_length=10)
    assert error is None
    assert cleaned == "Caf\u00e9"
    assert len(cleaned) == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "must not be blank"),
        ("a\x00b", "must not contain NUL characters"),
        ("a\ud800", "must not contain unpaired surrogates"),
        ("bell\x07", "must not contain control characters"),
        ("x" * 11, "must be at most 10 characters"),
    ],
)
def test_text_rules(value: str, message: str) -> None:
    _, error = check_text("title", value, min_length=1, max_length=10)
    assert error is not None
    assert error.message == message


def test_description_allows_tab_and_newlines_but_no_other_controls() -> None:
    ok = clean_changes(TaskChanges(description="line\tone\r\nline two"))
    assert ok.description == "line\tone\r\nline two"
    with pytest.raises(ValidationFailed) as caught:
        clean_changes(TaskChanges(description="escape \x1b"))
    assert fields(caught.value) == {"description"}


def test_create_requires_a_title_and_reports_every_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        clean_changes(TaskChanges(description="x" * 10_001, tags=("ok", "")), creating=True)
    assert fields(caught.value) == {"title", "description", "tags.1"}


def test_tags_are_lower_cased_deduplicated_in_order_and_bounded() -> None:
    tags, errors = clean_tags(("Work", " home ", "WORK", "Café"))
    assert tags == ("work", "home", "café")
    assert errors == []
    _, errors = clean_tags(tuple(f"t{i}" for i in range(21)))
    assert [e.field for e in errors] == ["tags"]
    _, errors = clean_tags(tuple(["T"] * 30))
    assert errors == []  # 30 copies of one tag are one tag
    _, errors = clean_tags(("ok", "x" * 51))
    assert [e.field for e in errors] == ["tags.1"]


def test_new_task_has_the_contract_defaults() -> None:
    task = new_task(UUID(int=1), UUID(int=2), clean_changes(TaskChanges(title="Buy milk")), NOW)
    assert (task.priority, task.starred, task.completed, task.tags) == (
        Priority.MEDIUM,
        False,
        False,
        (),
    )
    assert task.description is None
    assert task.due_date is None
    assert task.completed_at is None
    assert task.version == 1
    assert task.created_at == task.updated_at == NOW


def test_completed_at_records_when_a_task_last_became_complete() -> None:
    task = new_task(UUID(int=1), UUID(int=2), TaskChanges(title="t"), NOW)
    later, even_later = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    done = apply_changes(task, TaskChanges(completed=True), later)
    assert done.completed_at == later
    assert done.version == 2
    still_done = apply_changes(done, TaskChanges(completed=True), even_later)
    assert still_done.completed_at == later
    undone = apply_changes(still_done, TaskChanges(completed=False), even_later)
    assert undone.completed_at is None
    assert undone.version == 4


def test_changes_list_only_the_fields_set() -> None:
    changes = TaskChanges(title="x", description=None)
    assert changes.set_fields() == {"title": "x", "description": None}
    assert TaskChanges().starred is KEEP


def test_filter_semantics() -> None:
    task = new_task(
        UUID(int=1),
        UUID(int=2),
        TaskChanges(title="Pay 100% of rent", tags=("home", "money"), due_date=date(2026, 3, 1)),
        NOW,
    )
    assert TaskFilter(text="100%").matches(task)
    assert not TaskFilter(text="100_").matches(task)
    assert TaskFilter(tags=("home", "money")).matches(task)
    assert not TaskFilter(tags=("home", "work")).matches(task)
    assert TaskFilter(due_before=date(2026, 3, 1), due_after=date(2026, 3, 1)).matches(task)
    assert not TaskFilter(due_before=date(2026, 2, 28)).matches(task)
    undated = new_task(UUID(int=3), UUID(int=2), TaskChanges(title="x"), NOW)
    assert not TaskFilter(due_after=date(2000, 1, 1)).matches(undated)


def test_sort_parsing() -> None:
    assert TaskSort.parse("-priority") == TaskSort(SortField.PRIORITY, descending=True)
    assert TaskSort.parse("title") == TaskSort(SortField.TITLE, descending=False)
    assert str(TaskSort.parse("-due_date")) == "-due_date"
    with pytest.raises(ValueError, match="color"):
        TaskSort.parse("color")


def test_priority_ranks_by_meaning() -> None:
    assert Priority.HIGH.rank > Priority.MEDIUM.rank > Priority.LOW.rank
    assert Priority.from_rank(3) is Priority.HIGH


def test_email_rules() -> None:
    cleaned, error = check_email("  Ada@Example.com ")
    assert (cleaned, error) == ("Ada@Example.com", None)
    assert check_email("not-an-email")[1] is not None
    assert email_key("Ada@Example.COM ") == email_key("ada@example.com")


@pytest.mark.parametrize(
    ("password", "is_common", "ok"),
    [
        ("short7!", False, False),
        ("eight888", False, True),
        ("x" * 128, False, True),
        ("x" * 129, False, False),
        ("ADA@example.com", False, False),
        ("password1", True, False),
        ("пароль-пароль", False, True),
    ],
)
def test_password_policy(password: str, is_common: bool, ok: bool) -> None:
    error = check_password(password, "ada@example.com", is_common=is_common)
    assert (error is None) is ok


def test_the_shipped_common_password_list_is_large_and_case_insensitive() -> None:
    from adapters.security.common_passwords import CommonPasswords

    blocklist = CommonPasswords.bundled()
    assert len(blocklist) >= 10_000
    assert "PassWord" in blocklist
    assert "correct horse battery staple" not in blocklist


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_information_separators_are_controls_to_refuse_not_whitespace_to_trim(
    separator: str,
) -> None:
    """Python's ``str.strip`` would trim U+001C..U+001F; Unicode does not count them as white
    space, and as control characters (Cc) they are refused wherever text is checked."""
    for title in (f"abc{separator}", f"{separator}abc"):
        with pytest.raises(ValidationFailed) as refused:
            clean_changes(TaskChanges(title=title), creating=True)
        assert [e.field for e in refused.value.errors] == ["title"]
    with pytest.raises(ValidationFailed):
        clean_changes(TaskChanges(title="t", description=f"abc{separator}"), creating=True)


def test_unicode_white_space_is_trimmed() -> None:
    cleaned = clean_changes(TaskChanges(title="\u3000\x85 abc \u2028\t"), creating=True)
    assert cleaned.title == "abc"


def test_emails_are_checked_for_syntax_only() -> None:
    """No DNS: a domain nobody registered is an address; so is RFC 2606's ``.test``."""
    for email in ("ada@no-such-domain-4c1f.com", "ada@example.test", "ada@sub.example.test"):
        assert check_email(email)[1] is None, email
    assert check_email("ada@example")[1] is not None  # no top-level domain: not an address
