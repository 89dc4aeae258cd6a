"""The real clock and id source."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from uuid_utils.compat import uuid7


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidV7Generator:
    """Time-ordered ids: new rows land at the end of the primary-key index."""

    def new_id(self) -> UUID:
        return uuid7()
