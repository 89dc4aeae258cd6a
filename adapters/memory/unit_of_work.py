"""The in-memory unit of work: writes apply at once; it records what the use case asked for."""

from __future__ import annotations


class MemoryUnitOfWork:
    def __init__(self) -> None:
        self.begun = False
        self.committed = False

    async def begin(self) -> None:
        self.begun = True

    async def commit(self) -> None:
        self.committed = True
