"""Lookups on the order-event path probe an index, on both databases.

Each check runs the repository function, captures the statements it sends and asks the
database for their plans. On PostgreSQL sequential scans are switched off for the EXPLAIN,
so an empty test table still shows whether an index *can* serve the query (without one the
plan reads a whole table or index). SQLite's plans do not depend on table sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from trofast.customer import repository as customers
from trofast.models import Base
from trofast.program import repository as programmes


@contextmanager
def captured(session: Session) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []
    connection = session.connection()

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        statements.append((statement, params))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", capture)


def accesses(session: Session, call: Callable[[], object]) -> dict[str, bool]:
    """For every table the statements of `call` read: whether every read of it probes an
    index (True) or some read goes through all of it (False)."""
    with captured(session) as statements:
        call()
    assert statements, "the call sent no statement"
    connection = session.connection()
    found: dict[str, bool] = {}
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, params in statements:
            plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
            for node in _nodes(plan.scalar_one()[0]["Plan"]):
                if "Relation Name" in node:
                    # An index scan without a condition reads the whole index, in order.
                    probed = "Index Cond" in node or "Recheck Cond" in node
                    table = node["Relation Name"]
                    found[table] = found.get(table, True) and probed
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        return found
    for statement, params in statements:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        for *_, detail in plan:
            # SQLite: SEARCH t USING INDEX probes; SCAN t [USING (COVERING) INDEX] reads all.
            verb, _, rest = str(detail).partition(" ")
            table = rest.split(" ", 1)[0]
            if verb in ("SEARCH", "SCAN") and table in Base.metadata.tables:
                found[table] = found.get(table, True) and verb == "SEARCH"
    return found


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("count", [1, 3])
def test_identity_lookup_probes_the_index(db_session: Session, count: int) -> None:
    keys = [("email", "", "a@example.no"), ("phone", "", "+4790000001"), ("external", "shop", "7")]
    read = accesses(db_session, lambda: customers.identities_for(db_session, keys[:count]))
    assert read == {"customer_identities": True}


def test_an_orders_earnings_are_found_by_index(db_session: Session) -> None:
    read = accesses(db_session, lambda: programmes.order_earnings(db_session, 1))
    assert read == {"ledger_transactions": True}


def test_an_orders_pending_lots_are_found_by_index(db_session: Session) -> None:
    read = accesses(db_session, lambda: programmes.pending_lots_of_order(db_session, 1))
    assert read == {"ledger_transactions": True, "ledger_lots": True}
