"""Turn a database URL as Neon or libpq prints it into an asyncpg engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_SCHEMES = {
    "postgres",
    "postgresql",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg2",
}
POOL_TIMEOUT_SECONDS = 10
_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    url: sa.URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    pooled: bool = False

    def render(self) -> str:
        return self.url.render_as_string(hide_password=True)


def database_target(raw_url: str) -> DatabaseTarget:
    """Accept ``postgres://`` / ``postgresql://`` URLs with libpq parameters, as pasted.

    asyncpg takes no ``sslmode`` or ``channel_binding`` keywords, so libpq parameters become
    connect arguments; a PgBouncer endpoint (Neon's ``-pooler`` hosts, or ``pgbouncer=true``)
    gets prepared statements that survive transaction pooling.
    """
    url = sa.make_url(raw_url.strip())
    if url.drivername not in _SCHEMES:
        raise ValueError(f"not a PostgreSQL URL: {url.drivername}://")
    query = dict(url.query)
    connect_args: dict[str, Any] = {}
    ssl_mode = _single(query.pop("sslmode", None))
    if ssl_mode:
        if ssl_mode not in _SSL_MODES:
            raise ValueError(f"unknown sslmode: {ssl_mode}")
        connect_args["ssl"] = ssl_mode
    query.pop("channel_binding", None)  # asyncpg negotiates SCRAM itself
    if timeout := _single(query.pop("connect_timeout", None)):
        connect_args["timeout"] = float(timeout)
    server_settings = {}
    if application_name := _single(query.pop("application_name", None)):
        server_settings["application_name"] = application_name
    if options := _single(query.pop("options", None)):
        server_settings["options"] = options
    if server_settings:
        connect_args["server_settings"] = server_settings
    for passthrough in ("host", "port"):
        if value := _single(query.pop(passthrough, None)):
            connect_args[passthrough] = int(value) if passthrough == "port" else value
    pooled = _single(query.pop("pgbouncer", None)) == "true" or "-pooler" in (url.host or "")
    if pooled:
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = lambda: f"__asyncpg_{uuid4()}__"
    # With PgBouncer, SQLAlchemy's own prepared-statement cache must be off as well.
    dialect_query = {"prepared_statement_cache_size": "0"} if pooled else {}
    url = url.set(drivername="postgresql+asyncpg", query=dialect_query)
    return DatabaseTarget(url=url, connect_args=connect_args, pooled=pooled)


def _single(value: str | tuple[str, ...] | None) -> str | None:
    return value[-1] if isinstance(value, tuple) else value


def create_engine(
    target: DatabaseTarget,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """``statement_timeout`` (seconds) bounds every statement on every connection, and a
    transaction left idle for twice as long is ended by the server."""
    connect_args = dict(target.connect_args)
    if statement_timeout and not target.pooled:
        # PgBouncer refuses unknown startup parameters: behind one, set these on the role
        # instead (README, "Limits and hostile input").
        milliseconds = max(1, round(statement_timeout * 1000))
        connect_args["server_settings"] = {
            **connect_args.get("server_settings", {}),
            "statement_timeout": str(milliseconds),
            "idle_in_transaction_session_timeout": str(2 * milliseconds),
        }
    # No pre-ping: a connection found dead when a statement is sent is replaced there
    # (``database.py``), instead of every checkout paying a round trip to find out.
    return create_async_engine(
        target.url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_use_lifo=True,  # the busiest connections stay warm (prepared statements, types)
        pool_recycle=1800,
    )
