"""argon2id password hashing on a small pool of its own, so the event loop never blocks and a
storm of logins cannot queue without bound."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import Unavailable

# OWASP's minimum for argon2id: 19 MiB of memory, two passes, one lane.
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1
# Hashes allowed to wait for a thread (about 64 x 25 ms of work); beyond that, 503 at once.
QUEUE_LIMIT = 64
RETRY_AFTER_SECONDS = 1

T = TypeVar("T")


class Argon2PasswordHasher:
    def __init__(
        self,
        *,
        concurrency: int | None = None,
        memory_kib: int = MEMORY_KIB,
        time_cost: int = TIME_COST,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        threads = concurrency or os.cpu_count() or 1
        # Few threads also bound memory: each keeps its argon2 buffer in its malloc arena.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._capacity = threads + QUEUE_LIMIT
        self._pending = 0
        self._dummy_hash: str | None = None

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        """Run on the hashing pool; 503 (``Unavailable``) when its queue is full."""
        if self._pending >= self._capacity:
            raise Unavailable(RETRY_AFTER_SECONDS)
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._pending -= 1

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._verify, password_hash, password)

    async def verify_dummy(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(self._hasher.hash, "not a password of anybody's")
        await self._run(self._verify, self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password.encode("utf-8", "surrogatepass"))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
