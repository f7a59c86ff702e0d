"""Lookups on the order-event path probe an index, on both databases.

Each check runs the repository function, captures the statements it sends and asks the
database for their plans. On PostgreSQL sequential scans are switched off for the EXPLAIN,
so an empty test table still shows whether an index *can* serve the query (without one the
plan reads a whole table or index). SQLite's plans do not depend on table sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body, refund_body, shipment_body
from tests.support.sql import sent
from trofast.customer import repository as customers
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.ledger import repository as ledger
from trofast.models import Base
from trofast.program import repository as programmes
from trofast.program import service as programmes_service

_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)
# Read whole on purpose: the programme in force is the newest of a handful of versions.
SMALL = {"programme_versions"}


def accesses(session: Session, call: Callable[[], object]) -> dict[str, str | None]:
    """Every table the statements of `call` read, with None when each read probes an index,
    else the first statement that reads all of it (a whole table or a whole index)."""
    with sent(session) as statements:
        call()
    assert statements, "the call sent no statement"
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    found: dict[str, str | None] = {}

    def note(table: str, probed: bool, statement: str) -> None:
        if table not in found or found[table] is None:
            found[table] = None if probed else statement

    if postgres:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    for statement, params in statements:
        # Reads, and writes that find their rows. A statement run for many parameter sets
        # has one plan: the first set stands for all.
        if not statement.lstrip().upper().startswith(_PLANNED):
            continue
        if isinstance(params, list):
            params = params[0]
        if postgres:
            plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
            for node in _nodes(plan.scalar_one()[0]["Plan"]):
                if "Relation Name" in node and node["Node Type"] != "ModifyTable":
                    # An index scan without a condition reads the whole index, in order.
                    probed = "Index Cond" in node or "Recheck Cond" in node
                    note(node["Relation Name"], probed, statement)
            continue
        for *_, detail in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params):
            # SQLite: SEARCH t USING INDEX probes; SCAN t [USING (COVERING) INDEX] reads all.
            verb, _, rest = str(detail).partition(" ")
            table = rest.split(" ", 1)[0]
            if verb in ("SEARCH", "SCAN") and table in Base.metadata.tables:
                note(table, verb == "SEARCH", statement)
    if postgres:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
    return found


# Not INSERT: SQLite's plan for one lists every table whose foreign keys point at the new
# row, as scans, though a plain insert reads none of them.
_PLANNED = ("SELECT", "WITH", "UPDATE", "DELETE")


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("count", [1, 3])
def test_identity_lookup_probes_the_index(db_session: Session, count: int) -> None:
    keys = [("email", "", "a@example.no"), ("phone", "", "+4790000001"), ("external", "shop", "7")]
    read = accesses(db_session, lambda: customers.identities_for(db_session, keys[:count]))
    assert read == {"customer_identities": None}


def test_an_orders_earnings_are_found_by_index(db_session: Session) -> None:
    read = accesses(db_session, lambda: programmes.order_earnings(db_session, 1))
    assert read == {"ledger_transactions": None}


def test_an_orders_pending_lots_are_found_by_index(db_session: Session) -> None:
    read = accesses(db_session, lambda: programmes.pending_lots_of_order(db_session, 1))
    assert read == {"ledger_transactions": None, "ledger_lots": None}


def test_the_order_event_path_probes_indexes(db_session: Session) -> None:
    """Orders, a delivery and a refund under the demo programme: every table the events read
    is probed, except the programme's own small tables."""
    programmes_service.apply(
        db_session, files("trofast.demo").joinpath("programme.yaml").read_text()
    )
    events = [
        order_body("9001", email="a@example.no"),
        order_body("9002", email="a@example.no", updated_at="2026-03-02T10:00:00Z"),
        shipment_body("9001"),
        refund_body("9001"),
    ]
    parsed = [_EVENT.validate_python(body) for body in events]
    results: list[dict[str, Any]] = []
    read = accesses(
        db_session, lambda: results.extend(apply_events(db_session, parsed, None, currency="NOK"))
    )
    assert [r["status"] for r in results] == ["applied"] * 4
    # The refund's reversal and the delivery's rescheduling ran, so their reads were planned.
    assert {"customer_identities", "ledger_transactions", "ledger_lots"} <= read.keys()
    scanned = {t: statement for t, statement in read.items() if statement and t not in SMALL}
    assert scanned == {}


@pytest.mark.parametrize(
    "due", [ledger.members_with_due_pending_lots, ledger.members_with_due_expiring_lots]
)
def test_the_hourly_jobs_find_due_lots_by_index(
    db_session: Session, due: Callable[[Session, datetime], list[int]]
) -> None:
    # Run every hour over a ledger that only grows: a scan would cost the ledger's size.
    read = accesses(db_session, lambda: due(db_session, datetime(2026, 3, 1, tzinfo=UTC)))
    assert read == {"ledger_lots": None}
