"""What a session sends to the database, for tests that count or explain statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


@contextmanager
def sent(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The statements (text and parameters) the session's connection sends in the block."""
    statements: list[tuple[str, Any]] = []
    connection = session.connection()

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        statements.append((statement, params))

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)
