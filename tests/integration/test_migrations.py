"""The schema cannot drift: ``tables.py`` is what the migrations build, and every migration
goes down and up again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from adapters.postgres.engine import create_engine, database_target
from adapters.postgres.tables import metadata
from entrypoints.readiness import alembic_config
from tests.support.database import throwaway_database


@pytest.fixture
def empty_database(postgres_server_url: str) -> Iterator[str]:
    with throwaway_database(postgres_server_url) as url:
        yield url


def _ddl(index: sa.Index) -> str:
    # SQLAlchemy's dialect classes are unannotated.
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(CreateIndex(index).compile(dialect=dialect))


def _normalised(definition: str) -> str:
    """PostgreSQL prints the schema, the default method and fewer parentheses."""
    plain = definition.replace("public.", "").replace(" USING btree", "")
    return "".join(plain.replace("(", "").replace(")", "").split())


def _differences_in(sync: sa.Connection) -> list[Any]:
    """Alembic's comparison, except for expression indexes, which it cannot compare: those are
    compared by their definition as PostgreSQL prints it."""
    differences = compare_metadata(MigrationContext.configure(sync), metadata)
    expression_indexes = {
        index.name: index
        for table in metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(e, sa.Column) for e in index.expressions)
    }
    rows = sync.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes")).all()
    defined: dict[str, str] = dict(rows)
    kept = []
    for difference in differences:
        name = getattr(difference[1], "name", None) if difference[0].endswith("_index") else None
        if (
            name is not None
            and name in expression_indexes
            and _normalised(defined.get(name, "")) == _normalised(_ddl(expression_indexes[name]))
        ):
            continue
        kept.append(difference)
    return kept


async def _differences(url: str) -> list[Any]:
    engine = create_engine(database_target(url), pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_differences_in)
    finally:
        await engine.dispose()


def test_tables_py_declares_exactly_what_the_migrations_build(empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "head")
    assert asyncio.run(_differences(empty_database)) == []


def test_the_comparison_sees_a_missing_index(empty_database: str) -> None:
    """The test above can fail: an index the code expects but the database lacks is a diff."""
    command.upgrade(alembic_config(empty_database), "head")

    async def drop_one() -> None:
        engine = create_engine(database_target(empty_database), pool_size=1)
        try:
            async with engine.begin() as connection:
                await connection.execute(sa.text("DROP INDEX tasks_tags"))
        finally:
            await engine.dispose()

    asyncio.run(drop_one())
    differences = asyncio.run(_differences(empty_database))
    assert [d[0] for d in differences] == ["add_index"]


def test_every_migration_goes_down_and_up_again(empty_database: str) -> None:
    """The stairway: each step up, one down, up again — so every downgrade works."""
    config = alembic_config(empty_database)
    revisions = list(ScriptDirectory.from_config(config).walk_revisions("base", "heads"))
    for revision in reversed(revisions):
        command.upgrade(config, revision.revision)
        down = revision.down_revision
        assert not isinstance(down, list | tuple), "a merge revision: give it its own stairway"
        command.downgrade(config, down or "base")
        command.upgrade(config, revision.revision)
    assert asyncio.run(_differences(empty_database)) == []
