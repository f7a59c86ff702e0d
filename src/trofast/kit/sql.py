"""Dialect-neutral SQL helpers for the two databases Trofast runs on."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_for(dialect: str, table: Table | type[object]) -> Any:
    """An INSERT that supports ON CONFLICT on both PostgreSQL and SQLite; given a mapped
    class rather than a table, an ORM INSERT that can return entities."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@lru_cache(maxsize=256)
def _insert_ignore_statement(
    dialect: str, table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: Any
) -> Insert:
    # Built once per shape and executed with parameters: building `.values(**row)` on every
    # call cost more than the INSERT itself on the ingestion hot path.
    stmt: Insert = insert_for(dialect, table).on_conflict_do_nothing(index_elements=list(conflict))
    if isinstance(returning, tuple):
        stmt = stmt.returning(*returning)
    elif returning is not None:
        stmt = stmt.returning(returning)
    return stmt


def insert_ignore(
    session: Session,
    table: Table,
    values: dict[str, Any],
    conflict: Sequence[str],
    returning: Any = None,
) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING; returns the RETURNING value or None on conflict.

    On PostgreSQL a conflicting row that another transaction has not committed yet makes
    this statement wait for it, so the loser of a race always sees the winner's row next.
    """
    dialect = session.get_bind().dialect.name
    stmt = _insert_ignore_statement(
        dialect, table, tuple(sorted(values)), tuple(conflict), returning
    )
    if returning is not None:
        return session.execute(stmt, values).scalar_one_or_none()
    session.execute(stmt, values)
    return None


def insert_ignore_all(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    returning: tuple[Any, ...],
) -> list[Any]:
    """`insert_ignore` for several rows (all with the same columns) in one statement; the
    RETURNING rows of those inserted (a conflicting row returns nothing)."""
    dialect = session.get_bind().dialect.name
    stmt = _insert_ignore_statement(
        dialect, table, tuple(sorted(rows[0])), tuple(conflict), returning
    )
    return list(session.execute(stmt, list(rows)))
