"""The external accounts contract, on memory and PostgreSQL: (issuer, subject) linked to an
account of its own, and logout of external tokens by the session's "not before"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.external_accounts import MemoryExternalAccounts
from adapters.memory.store import MemoryStore
from adapters.postgres.database import ConnectionPool
from adapters.postgres.external_accounts import PostgresExternalAccounts
from adapters.system import UuidV7Generator
from application.auth_ports import ExternalAccounts
from application.ports import AccessClaims, ExternalCaller
from domain.task_listing import TaskQuery
from tests.contract.harness import NOW, Storage, memory_requests, postgres_requests
from tests.fakes import FakeClock

ISSUER = "http://localhost:3000"


@pytest.fixture
async def linked(
    storage_kind: tuple[str, AsyncEngine | None],
) -> AsyncIterator[tuple[Storage, ExternalAccounts]]:
    """The storage, and the external accounts adapter on the same data."""
    name, engine = storage_kind
    clock, ids = FakeClock(NOW), UuidV7Generator()
    accounts: ExternalAccounts
    if engine is None:
        store = MemoryStore()
        opener = memory_requests(store, clock)
        accounts = MemoryExternalAccounts(store, ids, clock)
    else:
        pool = ConnectionPool(engine)
        opener = postgres_requests(pool, clock)
        accounts = PostgresExternalAccounts(pool, ids, clock)
    async with Storage(name, clock, opener).opened() as storage:
        yield storage, accounts


def external(subject: str = "ext-1", issuer: str = ISSUER, **profile: str) -> ExternalCaller:
    issued_at = int(NOW.timestamp())
    return ExternalCaller(issuer, subject, issued_at, profile.get("email"), profile.get("name"))


async def caller_of(accounts: ExternalAccounts, who: ExternalCaller) -> AccessClaims:
    account = await accounts.link(who)
    return AccessClaims(account.user_id, account.session_id, who)


async def test_a_subject_is_linked_once_and_found_again(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    storage, accounts = linked
    first = await accounts.link(external(email="e@example.com", name="E"))
    again = await accounts.link(external())
    assert again == first
    user = await storage.users.get(first.user_id)
    assert user is not None
    assert (user.email, user.name) == ("e@example.com", "E")


async def test_the_same_subject_of_another_issuer_is_another_account(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    _, accounts = linked
    ours = await accounts.link(external("same"))
    theirs = await accounts.link(external("same", issuer="https://elsewhere.example"))
    assert ours.user_id != theirs.user_id
    assert ours.session_id != theirs.session_id


async def test_an_external_account_is_never_found_by_email_nor_blocks_one(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    storage, accounts = linked
    await accounts.link(external(email="taken@example.com"))
    assert await storage.users.by_email("taken@example.com") is None
    local = await storage.add_user("taken@example.com")  # no EmailTaken
    assert await storage.users.by_email("TAKEN@example.com") == local


async def test_a_later_link_brings_the_profile_up_to_date(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    storage, accounts = linked
    account = await accounts.link(external(email="old@example.com", name="Old"))
    await accounts.link(external(email="new@example.com"))  # no name: the stored one stays
    user = await storage.users.get(account.user_id)
    assert user is not None
    assert (user.email, user.name) == ("new@example.com", "Old")


async def test_concurrent_first_links_agree_on_one_account(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    _, accounts = linked
    links = await asyncio.gather(*(accounts.link(external("crowd")) for _ in range(20)))
    assert len(set(links)) == 1


async def test_an_external_caller_acts_like_any_other(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    storage, accounts = linked
    caller = await caller_of(accounts, external())
    task = await storage.add_task(caller, "mine")
    assert await storage.tasks.get(caller, task.id) == task
    assert await storage.users.current(caller) is not None
    assert await storage.sessions.is_active(caller)


@pytest.mark.parametrize("logout", ["revoke", "revoke_all"])
async def test_a_logout_ends_the_tokens_issued_until_its_second(
    linked: tuple[Storage, ExternalAccounts], logout: str
) -> None:
    storage, accounts = linked
    storage.clock.current = NOW + timedelta(seconds=30, microseconds=500_000)
    older = await caller_of(accounts, external())
    assert older.external is not None
    same_second = replace(
        older, external=replace(older.external, issued_at=int(NOW.timestamp()) + 30)
    )
    later = replace(older, external=replace(older.external, issued_at=int(NOW.timestamp()) + 31))
    task = await storage.add_task(older, "kept")

    assert await getattr(storage.sessions, logout)(older)
    for ended in (older, same_second):
        assert await storage.tasks.get(ended, task.id) is None
        assert await storage.tasks.page(ended, TaskQuery(), None, 10) is None
        assert await storage.users.current(ended) is None
        assert not await getattr(storage.sessions, logout)(ended)
    assert await storage.tasks.get(later, task.id) == task
    # A second logout, earlier by the clock, never lets older tokens back in.
    storage.clock.current = NOW
    assert await storage.sessions.revoke_all(later)
    assert await storage.tasks.get(same_second, task.id) is None


async def test_logging_out_an_external_caller_leaves_other_accounts_alone(
    linked: tuple[Storage, ExternalAccounts],
) -> None:
    storage, accounts = linked
    one = await caller_of(accounts, external("one"))
    two = await caller_of(accounts, external("two"))
    local = await storage.caller()
    await storage.sessions.revoke_all(one)
    assert await storage.sessions.is_active(two)
    assert await storage.sessions.is_active(local)
