"""All SQL of the bulk import: set-based, idempotent, one round trip per step and chunk.

PostgreSQL gets its rows through COPY into temporary staging tables (dropped at commit) and
one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` per table; SQLite gets batched
executemany. Either way an order that exists is never touched, so importing a file twice
changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

import polars as pl
from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from trofast.models import Customer, CustomerIdentity, Order, OrderLine, Product
from trofast.order import repository as orders_repository

IdentityKey = tuple[str, str, str]  # (kind, source, value), as in customer_identities
_CUSTOMERS = cast(Table, Customer.__table__)
_IDENTITIES = cast(Table, CustomerIdentity.__table__)
_PRODUCTS = cast(Table, Product.__table__)
_ORDERS = cast(Table, Order.__table__)
_LINES = cast(Table, OrderLine.__table__)
_SQLITE_BATCH = 500  # bound parameters per IN list, well under SQLite's limit


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _upsert(session: Session, table: Table) -> Any:
    """An INSERT of the session's dialect, which has `on_conflict_do_nothing`."""
    return postgresql.insert(table) if _is_postgres(session) else sqlite.insert(table)


def _batches(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _member_batches(
    session: Session, column: Any, values: Sequence[str]
) -> Iterator[ColumnElement[bool]]:
    """`column IN values` as conditions small enough for the dialect."""
    if not values:
        return
    if _is_postgres(session):
        # One array parameter instead of tens of thousands of bound values.
        yield column == any_(bindparam("values", list(values), type_=ARRAY(String)))
        return
    for batch in _batches(values, _SQLITE_BATCH):
        yield column.in_(list(batch))


_ANALYZED = ("customers", "customer_identities", "orders", "order_lines", "products")


def refresh_statistics(session: Session) -> None:
    """ANALYZE the tables a bulk load has grown by a fifth since their last statistics.

    Planned on the statistics of a nearly empty table, the chunk lookups (`value = ANY(...)`
    over tens of thousands of keys) degrade to a filter over every row, chunk after chunk;
    autovacuum catches up too late during a load that grows a table tenfold in minutes.
    """
    if not _is_postgres(session):
        return  # SQLite plans IN lists on the unique indexes without statistics
    stale = session.scalars(
        text(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(:names) "
            "AND n_mod_since_analyze > greatest(10000, n_live_tup / 5)"
        ),
        {"names": list(_ANALYZED)},
    ).all()
    for name in sorted(stale):
        if name in _ANALYZED:  # a fixed list: never a name built from input
            session.execute(text(f"ANALYZE {name}"))


def existing_orders(session: Session, source: str, external_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for condition in _member_batches(session, Order.external_id, external_ids):
        rows = session.scalars(select(Order.external_id).where(Order.source == source, condition))
        found.update(rows)
    return found


def identity_holders(session: Session, keys: Iterable[IdentityKey]) -> dict[IdentityKey, int]:
    by_scope: dict[tuple[str, str], list[str]] = defaultdict(list)
    for kind, source, value in keys:
        by_scope[(kind, source)].append(value)
    holders: dict[IdentityKey, int] = {}
    for (kind, source), values in by_scope.items():
        for condition in _member_batches(session, CustomerIdentity.value, values):
            rows = session.execute(
                select(CustomerIdentity.value, CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == kind, CustomerIdentity.source == source, condition
                )
            )
            holders.update({(kind, source, v): cid for v, cid in rows})
    return holders


def insert_customers(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new customers; their ids in the order of `rows`."""
    if not rows:
        return []
    table = _CUSTOMERS
    if _is_postgres(session):
        # Ids drawn from the sequence up front, so rows can be COPYed and still be matched
        # to the profiles they were created for.
        ids = list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('customers', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(rows)},
            )
        )
        frame = pl.DataFrame(rows).with_columns(pl.Series("id", ids, dtype=pl.Int64))
        _copy(session, "customers", frame)
        return ids
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


_IDENTITIES_STAGE = """
CREATE TEMP TABLE import_identities ON COMMIT DROP AS
SELECT customer_id, kind, source, value, created_at FROM customer_identities WITH NO DATA
"""


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> set[IdentityKey]:
    """Claim identities unless another customer holds them; the keys this call claimed."""
    if not rows:
        return set()
    table = _IDENTITIES
    # Sorted, so two importers (or an importer and a webhook) take the unique-index locks
    # in the same order and cannot deadlock.
    rows = sorted(rows, key=lambda r: (r["kind"], r["source"], r["value"]))
    if _is_postgres(session):
        session.execute(text(_IDENTITIES_STAGE))
        _copy(session, "import_identities", pl.DataFrame(rows))
        result = session.execute(
            text(
                "INSERT INTO customer_identities (customer_id, kind, source, value, created_at) "
                "SELECT customer_id, kind, source, value, created_at FROM import_identities "
                "ORDER BY kind, source, value "
                "ON CONFLICT (kind, source, value) DO NOTHING RETURNING kind, source, value"
            )
        )
        claimed = {(k, s, v) for k, s, v in result}
        session.execute(text("DROP TABLE import_identities"))
        return claimed
    stmt = (
        _upsert(session, table)
        .on_conflict_do_nothing(index_elements=["kind", "source", "value"])
        .returning(table.c.kind, table.c.source, table.c.value)
    )
    return {(k, s, v) for k, s, v in session.execute(stmt, rows)}


def move_identities(session: Session, from_id: int, to_id: int) -> None:
    session.execute(
        update(CustomerIdentity)
        .where(CustomerIdentity.customer_id == from_id)
        .values(customer_id=to_id)
    )


def delete_customers(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(delete(Customer).where(Customer.id.in_(list(ids))))


def store_ids(session: Session, codes: Iterable[str], now: datetime) -> dict[str, int]:
    # A file has a handful of stores: one upsert each is cheap and shares the API's rules.
    return {code: orders_repository.store_id(session, code, now) for code in sorted(codes)}


def product_ids(session: Session, products: pl.DataFrame) -> dict[str, int]:
    """Ids by sku; skus not in the catalogue are added (catalogue data from first sighting)."""
    skus = products.get_column("sku").to_list()
    known: dict[str, int] = {}
    for condition in _member_batches(session, Product.sku, skus):
        rows = session.execute(select(Product.sku, Product.id).where(condition))
        known.update({sku: pid for sku, pid in rows})
    missing = products.filter(~pl.col("sku").is_in(list(known))).sort("sku")
    if missing.height:
        table = _PRODUCTS
        stmt = _upsert(session, table).on_conflict_do_nothing(index_elements=["sku"])
        session.execute(stmt, missing.to_dicts())
        added = missing.get_column("sku").to_list()
        for condition in _member_batches(session, Product.sku, added):
            rows = session.execute(select(Product.sku, Product.id).where(condition))
            known.update({sku: pid for sku, pid in rows})
    return known


_ORDER_COLUMNS = (
    "external_id",
    "customer_id",
    "channel",
    "store_id",
    "email",
    "phone",
    "currency",
    "subtotal_minor",
    "discount_minor",
    "total_minor",
    "placed_at",
)
_LINE_COLUMNS = (
    "order_external_id",
    "external_id",
    "sku",
    "product_id",
    "name",
    "category",
    "quantity",
    "unit_price_minor",
    "discount_minor",
    "total_minor",
)


def insert_orders(
    session: Session, source: str, orders: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> tuple[int, int]:
    """Insert orders and the lines of those that were new; (orders, lines) inserted.

    Lines are only added to orders this call created: an order that already exists (this
    file imported before, or the same order from a live source) is left exactly as it is.
    """
    orders = orders.select(_ORDER_COLUMNS)
    lines = lines.select(_LINE_COLUMNS)
    if _is_postgres(session):
        return _insert_orders_postgres(session, source, orders, lines, now)
    return _insert_orders_sqlite(session, source, orders, lines, now)


def _imported_order(source: str, now: datetime) -> dict[str, Any]:
    return {
        "source": source,
        "number": None,
        "status": "open",
        "financial_status": "paid",
        "fulfillment_status": "unfulfilled",
        "presentment_currency": None,
        "presentment_total_minor": None,
        "shipping_minor": 0,
        "tax_minor": 0,
        "refunded_minor": 0,
        "discount_codes": [],
        "loyalty_opt_in": False,
        "snapshot_at": now,
        "created_at": now,
        "updated_at": now,
        "attributes": {},
    }


def _insert_orders_sqlite(
    session: Session, source: str, orders: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> tuple[int, int]:
    fixed = _imported_order(source, now)
    rows = [
        {**fixed, **row, "paid_at": row["placed_at"], "source_updated_at": row["placed_at"]}
        for row in orders.sort("external_id").iter_rows(named=True)
    ]
    table = _ORDERS
    stmt = (
        _upsert(session, table)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(table.c.id, table.c.external_id)
    )
    created = {ext: oid for oid, ext in session.execute(stmt, rows)}
    new_lines = [
        {
            **row,
            "order_id": created[row.pop("order_external_id")],
            "tax_minor": 0,
            "gift_card": False,
        }
        for row in lines.filter(pl.col("order_external_id").is_in(list(created))).iter_rows(
            named=True
        )
    ]
    if new_lines:
        session.execute(insert(_LINES), new_lines)
    return len(created), len(new_lines)


_ORDERS_STAGE = """
CREATE TEMP TABLE import_orders (
    external_id text, customer_id bigint, channel text, store_id bigint, email text,
    phone text, currency text, subtotal_minor bigint, discount_minor bigint,
    total_minor bigint, placed_at timestamptz
) ON COMMIT DROP
"""
_LINES_STAGE = """
CREATE TEMP TABLE import_lines (
    order_external_id text, external_id text, sku text, product_id bigint, name text,
    category text, quantity bigint, unit_price_minor bigint, discount_minor bigint,
    total_minor bigint
) ON COMMIT DROP
"""
# One statement: the lines join the orders this very INSERT created (its RETURNING), so
# existing orders get no lines and no second round trip is needed. Orders are inserted in
# external id order so concurrent importers take unique-index locks in the same order.
_INSERT_ORDERS = """
WITH created AS (
    INSERT INTO orders (
        source, external_id, number, customer_id, channel, store_id, email, phone, status,
        financial_status, fulfillment_status, currency, presentment_currency,
        presentment_total_minor, subtotal_minor, discount_minor, shipping_minor, tax_minor,
        total_minor, refunded_minor, discount_codes, loyalty_opt_in, placed_at, paid_at,
        source_updated_at, snapshot_at, created_at, updated_at, attributes
    )
    SELECT :source, external_id, NULL, customer_id, channel, store_id, email, phone, 'open',
        'paid', 'unfulfilled', currency, NULL, NULL, subtotal_minor, discount_minor, 0, 0,
        total_minor, 0, '[]'::jsonb, false, placed_at, placed_at, placed_at, :now, :now, :now,
        '{}'::jsonb
    FROM import_orders ORDER BY external_id
    ON CONFLICT (source, external_id) DO NOTHING
    RETURNING id, external_id
), lines AS (
    INSERT INTO order_lines (
        order_id, external_id, sku, product_id, name, category, quantity, unit_price_minor,
        discount_minor, tax_minor, total_minor, gift_card
    )
    SELECT created.id, l.external_id, l.sku, l.product_id, l.name, l.category, l.quantity,
        l.unit_price_minor, l.discount_minor, 0, l.total_minor, false
    FROM import_lines l JOIN created ON created.external_id = l.order_external_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM created), (SELECT count(*) FROM lines)
"""


def _insert_orders_postgres(
    session: Session, source: str, orders: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> tuple[int, int]:
    # The join of a chunk's lines to its new orders sorts ~100k rows: with the default 4 MB
    # it spills to disk. Local to this transaction only.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text(_ORDERS_STAGE))
    session.execute(text(_LINES_STAGE))
    _copy(session, "import_orders", orders)
    _copy(session, "import_lines", lines)
    created, added = session.execute(text(_INSERT_ORDERS), {"source": source, "now": now}).one()
    session.execute(text("DROP TABLE import_orders, import_lines"))
    return int(created), int(added)


def _copy(session: Session, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into `table` as CSV: Polars writes it, PostgreSQL parses it natively.

    An unquoted empty field is NULL in COPY's CSV format and Polars writes an empty string
    quoted, so text nulls and empty strings survive the trip distinctly.
    """
    payload = frame.write_csv(
        include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f+00:00", quote_style="necessary"
    )
    columns = ", ".join(frame.columns)
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(payload)
