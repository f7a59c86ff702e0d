"""All SQL of the bulk import: set-based, idempotent, one round trip per step and chunk.

PostgreSQL gets its rows through COPY (`repository_postgres`); SQLite gets batched
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

from trofast.imports import columns, repository_copy, repository_postgres
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


# The tables the chunk lookups read by a unique key. customers and order_lines are only
# reached by primary key (foreign-key checks), where statistics change no plan.
_ANALYZED = ("customer_identities", "orders", "products")


def refresh_statistics(session: Session) -> None:
    """ANALYZE a looked-up table when it has grown fivefold since its last statistics.

    Planned on the statistics of a nearly empty table, the chunk lookups (`value = ANY(...)`
    over tens of thousands of keys) degrade to a filter over every row, chunk after chunk;
    autovacuum catches up too late during a load that grows a table tenfold in minutes. Once
    analysed, the looked-up keys are known to be unique (n_distinct -1, a fraction that grows
    with the table) and the planner scales row counts by the table's current size, so plans
    stay right without analysing again after every fifth of growth, as this did before
    (up to 0.8 s per ANALYZE of orders on a loaded machine, a dozen times per million orders).
    """
    if not _is_postgres(session):
        return  # SQLite plans IN lists on the unique indexes without statistics
    stale = session.scalars(
        text(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(:names) "
            "AND n_mod_since_analyze > greatest(10000, 4 * (n_live_tup - n_mod_since_analyze))"
        ),
        {"names": list(_ANALYZED)},
    ).all()
    for name in sorted(stale):
        if name in _ANALYZED:  # a fixed list: never a name built from input
            session.execute(text(f"ANALYZE {name}"))


def existing_orders(session: Session, source: str, external_ids: Sequence[str]) -> set[str]:
    if _is_postgres(session):
        return repository_postgres.existing_orders(session, source, external_ids)
    found: set[str] = set()
    for condition in _member_batches(session, Order.external_id, external_ids):
        rows = session.scalars(select(Order.external_id).where(Order.source == source, condition))
        found.update(rows)
    return found


def identity_holders(session: Session, keys: Iterable[IdentityKey]) -> dict[IdentityKey, int]:
    if _is_postgres(session):
        return repository_postgres.identity_holders(session, keys)
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
        ids = repository_copy.next_ids(session, "customers", len(rows))
        repository_copy.copy_in(session, "customers", pl.DataFrame(rows).with_columns(ids))
        return ids.to_list()
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> set[IdentityKey]:
    """Claim identities unless another customer holds them; the keys this call claimed."""
    if not rows:
        return set()
    table = _IDENTITIES
    # Sorted, so two importers (or an importer and a webhook) take the unique-index locks
    # in the same order and cannot deadlock.
    rows = sorted(rows, key=lambda r: (r["kind"], r["source"], r["value"]))
    if _is_postgres(session):
        return repository_postgres.insert_identities(session, rows)
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


_ORDER_COLUMNS = ("external_id", *columns.ORDER_FROM_FILE)
_LINE_COLUMNS = ("order_external_id", *columns.LINE_FROM_FILE)


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
        return repository_postgres.insert_orders(session, source, orders, lines, now)
    return _insert_orders_sqlite(session, source, orders, lines, now)


def _imported_order(source: str, now: datetime) -> dict[str, Any]:
    return {
        **columns.NEW_ORDER,
        "source": source,
        "snapshot_at": now,
        "created_at": now,
        "updated_at": now,
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
