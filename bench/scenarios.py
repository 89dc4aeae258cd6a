"""The data each server is seeded with, and the requests each scenario sends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from bench.load import Send

PASSWORD = "correct horse battery staple"  # noqa: S105 - throwaway accounts
SUBJECTS = (
    "quarterly report",
    "buy milk",
    "call the plumber",
    "draft budget",
    "email Ada",
    "fix the bike",
    "plan the trip",
    "renew passport",
    "review pull request",
    "water plants",
    "book dentist",
)
SEARCHES = ("report", "budget", "trip", "milk", "review")
PRIORITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Workload:
    """One server's accounts: one to log in with, one with many tasks, one to write to."""

    credentials: dict[str, str]
    reader: dict[str, str]
    writer: dict[str, str]
    task_ids: tuple[str, ...]


def task_body(i: int) -> dict[str, Any]:
    subject = SUBJECTS[i % len(SUBJECTS)]
    return {
        "title": f"{subject.capitalize()} #{i}",
        "description": f"Notes on {SUBJECTS[(i * 7) % len(SUBJECTS)]}" if i % 2 else None,
        "priority": PRIORITIES[i % 3],
        "starred": i % 5 == 0,
        "completed": i % 4 == 0,
        "tags": ["bench", f"group-{i % 7}"],
        "due_date": None if i % 6 == 0 else str(date(2030, 1, 1) + timedelta(days=i % 90)),
    }


async def _register(client: httpx.AsyncClient, role: str) -> dict[str, Any]:
    email = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    pair: dict[str, Any] = response.json()
    return {"email": email, "headers": {"Authorization": f"Bearer {pair['access_token']}"}}


async def _create_all(
    client: httpx.AsyncClient, headers: dict[str, str], bodies: Sequence[dict[str, Any]], width: int
) -> list[str]:
    gate = asyncio.Semaphore(width)

    async def create(body: dict[str, Any]) -> str:
        async with gate:
            response = await client.post("/api/tasks", json=body, headers=headers)
        response.raise_for_status()
        return str(response.json()["id"])

    return list(await asyncio.gather(*(create(body) for body in bodies)))


async def prepare(
    client: httpx.AsyncClient, reader_tasks: int, writer_tasks: int, width: int
) -> Workload:
    login, reader, writer = await asyncio.gather(
        *(_register(client, role) for role in ("login", "reader", "writer"))
    )
    bodies = [task_body(i) for i in range(max(reader_tasks, writer_tasks))]
    _, ids = await asyncio.gather(
        _create_all(client, reader["headers"], bodies[:reader_tasks], width),
        _create_all(client, writer["headers"], bodies[:writer_tasks], width),
    )
    return Workload(
        credentials={"email": login["email"], "password": PASSWORD},
        reader=reader["headers"],
        writer=writer["headers"],
        task_ids=tuple(ids),
    )


def scenarios(w: Workload) -> dict[str, Send]:
    """Scenario name -> how its i-th request is sent, in the order they run."""

    async def health(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get("/health")

    async def login(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.post("/api/auth/login", json=w.credentials)

    async def create(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.post("/api/tasks", json=task_body(i), headers=w.writer)

    async def read(client: httpx.AsyncClient, i: int) -> httpx.Response:
        task_id = w.task_ids[i % len(w.task_ids)]
        return await client.get(f"/api/tasks/{task_id}", headers=w.writer)

    async def update(client: httpx.AsyncClient, i: int) -> httpx.Response:
        task_id = w.task_ids[i % len(w.task_ids)]
        body = {"starred": i % 2 == 0, "description": f"edited {i}"}
        return await client.patch(f"/api/tasks/{task_id}", json=body, headers=w.writer)

    async def list_page(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get("/api/tasks", params={"limit": 100}, headers=w.reader)

    async def search(client: httpx.AsyncClient, i: int) -> httpx.Response:
        params: dict[str, Any] = {
            "limit": 20,
            "sort": "title",
            "q": SEARCHES[i % len(SEARCHES)],
            "status": "pending",
            "priority": ["medium", "high"],
            "tag": "bench",
        }
        return await client.get("/api/tasks", params=params, headers=w.reader)

    return {
        "health": health,
        "login": login,
        "create": create,
        "get": read,
        "patch": update,
        "list100": list_page,
        "search20": search,
    }
