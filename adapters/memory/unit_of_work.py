"""The in-memory unit of work: what it begins and does not commit is rolled back at ``close()``.

Each memory statement applies at once, as a single SQL statement commits itself. Between
``begin()`` and ``commit()`` the store notes how to undo this request's writes (its context's
only, not those of requests running meanwhile); ``close()`` at the end of the request takes
them back unless they were committed. Unlike a database transaction, this offers no isolation:
other requests can see the writes before they are committed or rolled back.
"""

from __future__ import annotations

from adapters.memory.store import Journal, journal_writes


class MemoryUnitOfWork:
    def __init__(self) -> None:
        self.begun = False
        self.committed = False
        self._journal: Journal | None = None

    async def begin(self) -> None:
        if self._journal is not None:
            return  # begun already: the writes since the first begin() stay together
        self.begun, self.committed = True, False
        self._journal = Journal()
        journal_writes(self._journal)

    async def commit(self) -> None:
        self.committed = True
        self._end(keep=True)

    async def close(self) -> None:
        """End of request: whatever was begun and not committed is rolled back."""
        self._end(keep=False)

    def _end(self, *, keep: bool) -> None:
        journal, self._journal = self._journal, None
        if journal is None:
            return
        if keep:
            journal.close()
        else:
            journal.undo()
        journal_writes(None)
