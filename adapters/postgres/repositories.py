"""The PostgreSQL repositories, one module per aggregate."""

from adapters.postgres.sessions import PostgresSessionRepository
from adapters.postgres.tasks import PostgresTaskRepository
from adapters.postgres.users import PostgresUserRepository

__all__ = ["PostgresSessionRepository", "PostgresTaskRepository", "PostgresUserRepository"]
