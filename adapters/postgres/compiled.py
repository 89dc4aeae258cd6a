"""SQL built with SQLAlchemy Core from ``tables.py``, compiled once for asyncpg.

Statements name their parameters (``param("owner", users.c.id)``); the compiled form keeps the
order asyncpg expects, so a call passes values by name and nothing is compiled per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]

    def args(self, **values: Any) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.names)


def compile_sql(statement: sa.ClauseElement) -> Compiled:
    compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
    if literals := [name for name, bind in compiled.binds.items() if bind.value is not None]:
        raise ValueError(f"a value is baked into the statement: {literals}")
    return Compiled(compiled.string, tuple(compiled.positiontup or ()))


def param(name: str, like: sa.ColumnElement[Any] | sa.types.TypeEngine[Any]) -> BindParameter[Any]:
    """A named parameter typed like a column (or a given type)."""
    type_ = like if isinstance(like, sa.types.TypeEngine) else like.type
    return sa.bindparam(name, type_=type_)
