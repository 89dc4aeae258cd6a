"""The in-memory unit of work: writes apply at once; commit only records that it happened."""

from __future__ import annotations


class MemoryUnitOfWork:
    def __init__(self) -> None:
        self.committed = False

    async def commit(self) -> None:
        self.committed = True
