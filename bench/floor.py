"""The floor: what the benchmarked requests cost in plain Python, for comparison.

A bare ASGI app on raw asyncpg and msgspec doing the same logical work as the project for each
benchmarked route — the HS256 token check, the live-session check and the owner-scoped
statement in ONE SQL statement, the same JSON — and nothing else: no framework, no dependency
injection, no validation beyond what the statement needs. It serves the project's own database
and accepts the project's tokens (same secret, issuer and audience). Run it as
``granian --interface asgi bench.floor:app`` with ``DATABASE_URL`` and ``BETTER_AUTH_SECRET`` set.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

SECRET = os.environ.get("BETTER_AUTH_SECRET", "").encode()
ISSUER = AUDIENCE = "todo-api"
ACCESS_SECONDS = 900
REFRESH_SECONDS = 14 * 86400
POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "20"))
MAX_TASKS = int(os.environ.get("MAX_TASKS_PER_USER", "10000"))  # the quota, as the project
PRIORITIES = {1: "low", 2: "medium", 3: "high"}
RANKS = {name: rank for rank, name in PRIORITIES.items()}

LIVE = (
    "EXISTS (SELECT 1 FROM sessions WHERE sessions.id = $2 AND sessions.user_id = $1"
    " AND sessions.revoked_at IS NULL AND sessions.expires_at > now())"
)
COLUMNS = (
    "id, user_id, title, description, due_date, priority, starred, completed, completed_at,"
    " tags, created_at, updated_at, version"
)
LIST = (
    f"SELECT {COLUMNS}, (SELECT count(*) FROM tasks WHERE user_id = $1) AS total FROM tasks"
    f" WHERE user_id = $1 AND {LIVE} ORDER BY created_at DESC, id DESC LIMIT $3"
)
GET = f"SELECT {COLUMNS} FROM tasks WHERE id = $3 AND user_id = $1 AND {LIVE}"
CREATE = (
    "WITH counted AS (UPDATE users SET task_count = task_count + 1"
    f" WHERE id = $1 AND task_count < {MAX_TASKS} AND {LIVE} RETURNING id)"
    f" INSERT INTO tasks ({COLUMNS}) SELECT $3, $1, $4, $5, $6, $7, $8, $9,"
    f" CASE WHEN $9 THEN now() END, $10, now(), now(), 1 FROM counted RETURNING {COLUMNS}"
)
PATCH = (
    "UPDATE tasks SET starred = coalesce($4, starred), description = coalesce($5, description),"
    " updated_at = now(), version = version + 1"
    f" WHERE id = $3 AND user_id = $1 AND {LIVE} RETURNING {COLUMNS}"
)
COMPLETE = (
    "UPDATE tasks SET completed = NOT completed,"
    " completed_at = CASE WHEN completed THEN NULL ELSE now() END,"
    " updated_at = now(), version = version + 1"
    f" WHERE id = $3 AND user_id = $1 AND {LIVE} RETURNING {COLUMNS}"
)
USER_BY_EMAIL = "SELECT id, email, name, password_hash, created_at FROM users WHERE email_key = $1"
START_SESSION = (
    "INSERT INTO sessions (id, user_id, created_at, expires_at, refresh_hash)"
    " VALUES ($1, $2, now(), now() + make_interval(secs => $3), $4)"
)


class TaskOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    description: str | None
    due_date: date | None
    priority: str
    starred: bool
    completed: bool
    completed_at: datetime | None
    tags: list[str]
    category: None
    user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int


class TaskIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    description: str | None = None
    due_date: date | None = None
    priority: str = "medium"
    starred: bool = False
    completed: bool = False
    tags: list[str] = []


class PatchIn(msgspec.Struct, forbid_unknown_fields=True):
    starred: bool | None = None
    description: str | None = None


class Login(msgspec.Struct):
    email: str
    password: str


class UserOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    name: str | None
    created_at: datetime


class TokenPair(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserOut


class Claims(msgspec.Struct):
    sub: str
    sid: str
    iss: str
    aud: str
    exp: int


encoder = msgspec.json.Encoder()
task_in = msgspec.json.Decoder(TaskIn)
patch_in = msgspec.json.Decoder(PatchIn)
login_in = msgspec.json.Decoder(Login)
claims_in = msgspec.json.Decoder(Claims)
hasher = PasswordHasher()
hashing = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
state: dict[str, Any] = {}


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def verify(authorization: bytes | None) -> tuple[uuid.UUID, uuid.UUID] | None:
    if not authorization or not authorization.startswith(b"Bearer "):
        return None
    try:
        head, body, signature = authorization[7:].decode().split(".")
        expected = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        claims = claims_in.decode(_unb64(body))
    except (ValueError, msgspec.DecodeError):
        return None
    if claims.iss != ISSUER or claims.aud != AUDIENCE or claims.exp < time.time():
        return None
    return uuid.UUID(claims.sub), uuid.UUID(claims.sid)


def sign(user_id: uuid.UUID, session_id: uuid.UUID) -> str:
    now = int(time.time())
    head = _b64(b'{"alg":"HS256","typ":"at+jwt"}')
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + ACCESS_SECONDS,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    body = _b64(encoder.encode(claims))
    signature = _b64(hmac.new(SECRET, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + signature).decode()


def task_out(row: Any) -> TaskOut:
    return TaskOut(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        due_date=row["due_date"],
        priority=PRIORITIES[row["priority"]],
        starred=row["starred"],
        completed=row["completed"],
        completed_at=row["completed_at"],
        tags=row["tags"],
        category=None,
        user_id=row["user_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


async def respond(send: Any, status: int, body: bytes = b"") -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def login(receive: Any, send: Any) -> None:
    credentials = login_in.decode(await read_body(receive))
    pool = state["pool"]
    user = await pool.fetchrow(USER_BY_EMAIL, credentials.email.strip().casefold())
    if user is None:
        await respond(send, 401)
        return
    try:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            hashing, hasher.verify, user["password_hash"], credentials.password
        )
    except VerifyMismatchError:
        await respond(send, 401)
        return
    session_id, refresh = uuid.uuid4(), secrets.token_urlsafe(32)
    token_hash = hashlib.sha256(refresh.encode()).digest()
    await pool.execute(START_SESSION, session_id, user["id"], REFRESH_SECONDS, token_hash)
    pair = TokenPair(
        access_token=sign(user["id"], session_id),
        token_type="bearer",  # noqa: S106 - not a secret
        expires_in=ACCESS_SECONDS,
        refresh_token=refresh,
        refresh_expires_in=REFRESH_SECONDS,
        user=UserOut(user["id"], user["email"], user["name"], user["created_at"]),
    )
    await respond(send, 200, encoder.encode(pair))


async def tasks(scope: dict[str, Any], receive: Any, send: Any, caller: tuple[Any, Any]) -> None:
    pool, method, path = state["pool"], scope["method"], scope["path"]
    parts = path.split("/")  # '', 'api', 'tasks', id?, 'complete'?
    if len(parts) == 3 and method == "GET":
        rows = await pool.fetch(LIST, *caller, 50)
        total = rows[0]["total"] if rows else 0
        body = encoder.encode([task_out(r) for r in rows])
        headers = [
            (b"content-type", b"application/json"),
            (b"x-total-count", str(total).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    if len(parts) == 3 and method == "POST":
        new = task_in.decode(await read_body(receive))
        row = await pool.fetchrow(
            CREATE,
            *caller,
            uuid.uuid4(),
            new.title.strip(),
            new.description,
            new.due_date,
            RANKS[new.priority],
            new.starred,
            new.completed,
            [t.lower() for t in new.tags],
        )
        await respond(send, 201 if row else 401, encoder.encode(task_out(row)) if row else b"")
        return
    task_id = uuid.UUID(parts[3])
    if len(parts) == 4 and method == "GET":
        row = await pool.fetchrow(GET, *caller, task_id)
    elif len(parts) == 4 and method == "PATCH":
        change = patch_in.decode(await read_body(receive))
        row = await pool.fetchrow(PATCH, *caller, task_id, change.starred, change.description)
    elif len(parts) == 5 and method == "PATCH":
        await read_body(receive)
        row = await pool.fetchrow(COMPLETE, *caller, task_id)
    else:
        await respond(send, 404)
        return
    await respond(send, 200 if row else 404, encoder.encode(task_out(row)) if row else b"")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                state["pool"] = await asyncpg.create_pool(
                    os.environ["DATABASE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await state["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/health/ready":
        await respond(send, 200, b'{"status":"ok"}')
    elif path == "/api/auth/login":
        await login(receive, send)
    elif path.startswith("/api/tasks"):
        headers = dict(scope["headers"])
        caller = verify(headers.get(b"authorization"))
        if caller is None:
            await respond(send, 401)
        else:
            await tasks(scope, receive, send, caller)
    else:
        await respond(send, 404)


__all__ = ["app", "timedelta"]
