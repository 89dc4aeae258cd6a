"""One database transaction per request, committed only when a use case says so."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


class PostgresUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def commit(self) -> None:
        await self._connection.commit()
