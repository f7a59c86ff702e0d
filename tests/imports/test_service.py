"""Loading into the database: exact rows, one customer across identities, idempotence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.imports.helpers import FIXTURES, options, read
from trofast.imports.mapping import ImportOptions
from trofast.imports.service import ChunkResult, import_chunk
from trofast.models import Customer, CustomerIdentity, Order, OrderLine, Product, Store


def _load(session: Session, path: Path, opts: ImportOptions) -> list[ChunkResult]:
    _, parts = read(path, opts)
    return [import_chunk(session, chunk, opts.source) for chunk in parts]


def _counts(session: Session) -> dict[str, int]:
    tables = {
        "customers": Customer,
        "identities": CustomerIdentity,
        "orders": Order,
        "lines": OrderLine,
        "products": Product,
        "stores": Store,
    }
    return {
        name: session.scalar(select(func.count()).select_from(m)) or 0 for name, m in tables.items()
    }


def test_orders_lines_customers_and_catalogue_are_written_exactly(db_session: Session) -> None:
    [result] = _load(db_session, FIXTURES / "lines.csv", options(timezone="Europe/Oslo"))

    assert result == ChunkResult(
        rows=4, orders_inserted=3, orders_skipped=0, lines_inserted=4, customers_created=1
    )
    orders = {o.external_id: o for o in db_session.scalars(select(Order))}
    big = orders["9007199254740993"]
    assert (big.source, big.status, big.financial_status, big.channel, big.currency) == (
        "import:test",
        "open",
        "paid",
        "web",
        "NOK",
    )
    assert (big.subtotal_minor, big.discount_minor, big.total_minor, big.refunded_minor) == (
        123770,
        4000,
        119770,
        0,
    )
    placed = datetime(2024, 3, 1, 9, 15, tzinfo=UTC)
    assert (big.placed_at, big.paid_at, big.source_updated_at) == (placed, placed, placed)
    assert big.snapshot_at is not None
    # The store receipt found Kari by her phone (written locally there, +47 in the web order).
    assert orders["R-100"].customer_id == big.customer_id is not None
    assert orders["R-100"].channel == "store"
    store = db_session.scalars(select(Store)).one()
    assert (store.code, orders["R-100"].store_id) == ("OSLO-1", store.id)
    assert orders["W-7"].customer_id is None
    assert (orders["W-7"].currency, orders["W-7"].total_minor) == ("EUR", 1999)

    identities = db_session.execute(
        select(
            CustomerIdentity.kind,
            CustomerIdentity.source,
            CustomerIdentity.value,
            CustomerIdentity.customer_id,
        ).order_by(CustomerIdentity.kind)
    ).all()
    assert identities == [
        ("email", "", "kari.nordmann@example.no", big.customer_id),
        ("external", "import:test", "C-1", big.customer_id),
        ("phone", "", "+4791234567", big.customer_id),
    ]
    customer = db_session.get(Customer, big.customer_id)
    assert customer is not None
    assert (customer.email, customer.phone) == ("kari.nordmann@example.no", "+4791234567")

    lines = db_session.execute(
        select(
            OrderLine.external_id,
            OrderLine.sku,
            OrderLine.quantity,
            OrderLine.unit_price_minor,
            OrderLine.discount_minor,
            OrderLine.total_minor,
        )
        .where(OrderLine.order_id == big.id)
        .order_by(OrderLine.external_id)
    ).all()
    assert lines == [("1", "SKU-1", 2, 49900, 0, 99800), ("2", "SKU-2", 3, 7990, 4000, 19970)]
    products = db_session.execute(
        select(Product.sku, Product.name, Product.category).order_by(Product.sku)
    ).all()
    assert products == [
        ("SKU-1", "Ullgenser", "Klær"),
        ("SKU-2", "Sokker", "Klær"),
        ("SKU-3", "Lue", "Tilbehør"),
    ]
    linked = db_session.scalar(select(func.count()).where(OrderLine.product_id.is_not(None)))
    assert linked == 4


def test_importing_the_same_file_twice_changes_nothing(db_session: Session) -> None:
    opts = options(timezone="Europe/Oslo")
    _load(db_session, FIXTURES / "lines.csv", opts)
    before = _counts(db_session)
    snapshot = db_session.execute(select(Order.id, Order.updated_at, Order.total_minor)).all()

    again = _load(db_session, FIXTURES / "lines.csv", opts)

    assert again == [
        ChunkResult(
            rows=4, orders_inserted=0, orders_skipped=3, lines_inserted=0, customers_created=0
        )
    ]
    assert (
        _counts(db_session)
        == before
        == {"customers": 1, "identities": 3, "orders": 3, "lines": 4, "products": 3, "stores": 1}
    )
    assert (
        db_session.execute(select(Order.id, Order.updated_at, Order.total_minor)).all() == snapshot
    )


def test_a_known_customer_is_reused_and_left_untouched(db_session: Session) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    known = Customer(
        email="kari.nordmann@example.no",
        first_name="Kari",
        is_member=True,
        created_at=now,
        updated_at=now,
    )
    db_session.add(known)
    db_session.flush()
    db_session.add(
        CustomerIdentity(
            customer_id=known.id,
            kind="email",
            source="",
            value="kari.nordmann@example.no",
            created_at=now,
        )
    )
    db_session.flush()

    [result] = _load(db_session, FIXTURES / "lines.csv", options())

    assert result.customers_created == 0
    assert {o.customer_id for o in db_session.scalars(select(Order)) if o.external_id != "W-7"} == {
        known.id
    }
    db_session.refresh(known)
    assert (known.first_name, known.is_member, known.updated_at) == ("Kari", True, now)
    attached = db_session.scalars(
        select(CustomerIdentity.kind)
        .where(CustomerIdentity.customer_id == known.id)
        .order_by(CustomerIdentity.kind)
    ).all()
    assert attached == ["email", "external", "phone"]


def test_profiles_sharing_a_key_in_one_chunk_are_one_customer(
    db_session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "shared.csv"
    path.write_text(
        "order_id,customer_id,email,date,amount\n"
        "1,A,same@example.no,2024-01-01,1.00\n"
        "2,B,same@example.no,2024-01-02,1.00\n"
        "3,C,other@example.no,2024-01-03,1.00\n",
        encoding="utf-8",
    )

    [result] = _load(db_session, path, options())

    owners = dict(db_session.execute(select(Order.external_id, Order.customer_id)).all())
    assert result.customers_created == 2
    assert owners["1"] == owners["2"] != owners["3"]


def test_an_order_that_exists_from_another_import_gets_no_lines(db_session: Session) -> None:
    _load(db_session, FIXTURES / "lines.csv", options(source="import:test"))

    other = _load(db_session, FIXTURES / "lines.csv", options(source="import:other"))

    assert sum(r.orders_inserted for r in other) == 3  # another source is another namespace
    assert _counts(db_session)["lines"] == 8
    assert _counts(db_session)["customers"] == 1  # same e-mail and phone: the same person
