"""The data each server is seeded with, and the requests each scenario sends."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from bench.wrk import lua_script

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
PRIORITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Workload:
    """The accounts a run uses: one to log in with, one with many tasks to list, one whose tasks
    are read and edited, one that creates."""

    credentials: dict[str, str]
    reader: str
    writer: str
    creator: str
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


async def _register(client: httpx.AsyncClient, role: str) -> tuple[str, str]:
    """A new account's email and access token."""
    email = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return email, str(response.json()["access_token"])


async def _create_all(
    client: httpx.AsyncClient, token: str, bodies: Sequence[dict[str, Any]], width: int
) -> list[str]:
    gate = asyncio.Semaphore(width)
    headers = {"Authorization": f"Bearer {token}"}

    async def create(body: dict[str, Any]) -> str:
        async with gate:
            response = await client.post("/api/tasks", json=body, headers=headers)
        response.raise_for_status()
        return str(response.json()["id"])

    return list(await asyncio.gather(*(create(body) for body in bodies)))


async def prepare(
    client: httpx.AsyncClient, reader_tasks: int, writer_tasks: int, width: int = 16
) -> Workload:
    (login, _), (_, reader), (_, writer), (_, creator) = await asyncio.gather(
        *(_register(client, role) for role in ("login", "reader", "writer", "creator"))
    )
    bodies = [task_body(i) for i in range(max(reader_tasks, writer_tasks))]
    _, ids = await asyncio.gather(
        _create_all(client, reader, bodies[:reader_tasks], width),
        _create_all(client, writer, bodies[:writer_tasks], width),
    )
    return Workload(
        credentials={"email": login, "password": PASSWORD},
        reader=reader,
        writer=writer,
        creator=creator,
        task_ids=tuple(ids),
    )


# Logins are argon2-bound (~25 ms of CPU each): at 50 connections they would only measure the
# hashing queue's back-pressure (503 past it). They run at a rate a real service sees.
LOGIN_CONNECTIONS = 8

Request = tuple[str, str, str | None]  # method, path, JSON body


def lua_plans(w: Workload) -> dict[str, tuple[str, str]]:
    """Scenario -> (token, the wrk script that sends its requests)."""
    return {
        name: (token, lua_script(requests, token)) for name, (token, requests) in plans(w).items()
    }


def plans(w: Workload) -> dict[str, tuple[str, list[Request]]]:
    """Scenario -> (the token it sends, the requests each connection cycles through)."""
    ids = w.task_ids
    login_body = json.dumps(w.credentials)
    patches = [
        json.dumps({"starred": i % 2 == 0, "description": f"edited {i}"}) for i in range(len(ids))
    ]
    spa: list[Request] = []
    for i, task_id in enumerate(ids[:50]):
        spa += [
            ("GET", "/api/tasks?limit=50", None),
            ("GET", f"/api/tasks/{task_id}", None),
            ("PATCH", f"/api/tasks/{task_id}", patches[i]),
            ("PATCH", f"/api/tasks/{task_id}/complete", None),
            ("POST", "/api/tasks", json.dumps(task_body(i))),
        ]
    return {
        "list50": (w.reader, [("GET", "/api/tasks?limit=50", None)]),
        "get": (w.writer, [("GET", f"/api/tasks/{t}", None) for t in ids]),
        "create": (
            w.creator,
            [("POST", "/api/tasks", json.dumps(task_body(i))) for i in range(50)],
        ),
        "patch": (w.writer, [("PATCH", f"/api/tasks/{t}", patches[i]) for i, t in enumerate(ids)]),
        "complete": (w.writer, [("PATCH", f"/api/tasks/{t}/complete", None) for t in ids]),
        "login": (w.writer, [("POST", "/api/auth/login", login_body)]),
        "spa": (w.writer, spa),
    }
