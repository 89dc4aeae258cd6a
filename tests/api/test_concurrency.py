"""Concurrent writers never lose a write, over HTTP, on both storages."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.app import bearer, register

pytestmark = pytest.mark.slow

SORTS = ["created_at", "updated_at", "due_date", "priority", "title"]


async def test_fifty_patches_with_one_if_match_yield_exactly_one_success(
    client: httpx.AsyncClient,
) -> None:
    auth = bearer(await register(client))
    created = await client.post("/api/tasks", json={"title": "contended"}, headers=auth)
    url = f"/api/tasks/{created.json()['id']}"
    headers = {**auth, "If-Match": created.headers["etag"]}

    responses = await asyncio.gather(
        *(client.patch(url, json={"title": f"writer {n}"}, headers=headers) for n in range(50))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 49
    final = (await client.get(url, headers=auth)).json()
    assert final["version"] == 2
    winner = next(r for r in responses if r.status_code == 200).json()
    assert final["title"] == winner["title"]


async def test_concurrent_patches_of_different_fields_all_land(client: httpx.AsyncClient) -> None:
    auth = bearer(await register(client))
    created = (await client.post("/api/tasks", json={"title": "t"}, headers=auth)).json()
    url = f"/api/tasks/{created['id']}"
    changes = [
        {"description": "described"},
        {"priority": "high"},
        {"starred": True},
        {"due_date": "2027-01-01"},
        {"tags": ["a", "b"]},
        {"completed": True},
    ]
    responses = await asyncio.gather(*(client.patch(url, json=c, headers=auth) for c in changes))
    assert all(r.status_code == 200 for r in responses)
    final = (await client.get(url, headers=auth)).json()
    assert final["version"] == 1 + len(changes)
    assert (final["description"], final["priority"], final["starred"]) == (
        "described",
        "high",
        True,
    )
    assert (final["due_date"], final["tags"], final["completed"]) == (
        "2027-01-01",
        ["a", "b"],
        True,
    )


async def test_hundred_concurrent_creates_are_all_listed_once_in_every_order(
    client: httpx.AsyncClient,
) -> None:
    auth = bearer(await register(client))
    priorities = ["low", "medium", "high"]

    def body(n: int) -> dict[str, object]:
        return {
            "title": f"{'Task' if n % 2 else 'task'} {n % 7}",
            "priority": priorities[n % 3],
            "due_date": None if n % 5 == 0 else f"2027-02-{1 + n % 9:02}",
        }

    responses = await asyncio.gather(
        *(client.post("/api/tasks", json=body(n), headers=auth) for n in range(100))
    )
    assert [r.status_code for r in responses] == [201] * 100
    created = {r.json()["id"] for r in responses}
    assert len(created) == 100

    for sort in [*SORTS, *(f"-{s}" for s in SORTS)]:
        seen: list[str] = []
        url: str | None = f"/api/tasks?sort={sort}&limit=7"
        while url:
            page = await client.get(url, headers=auth)
            assert page.status_code == 200, page.text
            assert page.headers["x-total-count"] == "100"
            seen += [t["id"] for t in page.json()]
            link = page.headers.get("link")
            url = link.split(">", 1)[0].lstrip("<") if link else None
        assert len(seen) == 100, sort
        assert set(seen) == created, sort


async def test_twenty_concurrent_refreshes_one_success_then_the_session_ends(
    client: httpx.AsyncClient,
) -> None:
    pair = await register(client)
    responses = await asyncio.gather(
        *(
            client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            for _ in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 19
    winner = next(r for r in responses if r.status_code == 200).json()
    assert (await client.get("/api/auth/me", headers=bearer(winner))).status_code == 401
    again = await client.post("/api/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert again.status_code == 401
