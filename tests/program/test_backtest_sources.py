"""Backtest histories from an import file and from the database give the same points."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.imports.helpers import FIXTURES, options, read
from tests.ingest.factories import order_body
from tests.program.conftest import Ingest
from trofast.imports.service import import_chunk
from trofast.models import LedgerLot, LedgerTransaction
from trofast.program import backtest, service
from trofast.program.backtest_history import from_import_file
from trofast.program.backtest_repository import load_history
from trofast.program.document import load

PROGRAMME = """
name: Sources
currency: NOK
earning:
  - {id: base, kind: spend, rates: {NOK: 1, EUR: 10}}
  - {id: wool, kind: multiplier, factor: 2, categories: [Klær]}
  - {id: in_store, kind: spend, channels: [store], rates: {NOK: "0.5"}}
  - {id: welcome, kind: first_order, points: 100}
"""


def test_file_history_replays_each_order_of_the_import_mapping() -> None:
    history = from_import_file(FIXTURES / "lines.csv", options(currency="NOK"))
    report = backtest.run(load(PROGRAMME), history)

    # 1,197.70 NOK of wool on the web; 499 NOK of wool in store; a EUR order nobody owns.
    assert (report.orders, report.member_orders, report.members) == (3, 2, 2)
    assert [(r.rule, r.points) for r in report.rules] == [
        ("base", 1197 + 499),
        ("wool", 1197 + 499),
        ("in_store", 249),
        ("welcome", 200),  # C-1 and the phone-only buyer are two members in a file
    ]
    assert report.revenue_minor == {"EUR": 1999, "NOK": 119770 + 49900}


def test_database_history_gives_the_same_points_with_resolved_customers(
    db_session: Session,
) -> None:
    opts = options(currency="NOK")
    _, chunks = read(FIXTURES / "lines.csv", opts)
    for chunk in chunks:
        import_chunk(db_session, chunk, opts.source)
    db_session.flush()

    history = load_history(db_session, prices_include_tax=True)
    report = backtest.run(load(PROGRAMME), history)

    assert (report.orders, report.member_orders, report.members) == (3, 2, 1)
    assert [(r.rule, r.points) for r in report.rules] == [
        ("base", 1197 + 499),
        ("wool", 1197 + 499),
        ("in_store", 249),
        # The import resolved the phone-only receipt to C-1: one member, one first order.
        ("welcome", 100),
    ]


def test_database_history_spreads_order_discounts_as_the_engine_did(
    db_session: Session, programme: int, ingest: Ingest
) -> None:
    """Orders with a discount on the whole order (beyond their lines') earn in the backtest
    exactly what the engine gave them, line by line, rule by rule."""
    lines = [
        {"id": "L1", "sku": "SKU-1", "quantity": 3, "unit_price": "333.33"},
        {"id": "L2", "sku": "SKU-2", "quantity": 1, "unit_price": "199", "discount": "20.00"},
        {"id": "L3", "sku": "SKU-3", "quantity": 7, "unit_price": "1.01"},
    ]
    ingest(
        order_body("D1", email="kari@example.no", lines=lines, discount="100.00"),
        order_body("D2", email="kari@example.no", lines=lines, discount="33.33",
                   placed_at="2026-03-02T10:00:00Z"),
        order_body("D3", email="ola@example.no", lines=lines[1:], discount="0.01"),
        order_body("D4", email="ola@example.no", lines=lines[:1], placed_at="2026-03-03T10:00:00Z"),
    )  # fmt: skip
    earned: dict[str, int] = defaultdict(int)
    for rule, points in db_session.execute(
        select(LedgerTransaction.rule, LedgerLot.points).join(
            LedgerLot, LedgerLot.transaction_id == LedgerTransaction.id
        )
    ):
        earned[rule] += points

    history = load_history(db_session, prices_include_tax=True)
    report = backtest.run(service.programme_of(db_session, programme), history)

    assert report.orders == 4
    # Kari passes 1,000 lifetime points with her first order, so the second earns the tier's.
    assert set(earned) == {"base", "first", "tier:silver"}
    assert {r.rule: r.points for r in report.rules if r.points} == dict(earned)
