"""PostgreSQL SQL of the bulk import: rows travel by COPY, text that Polars writes in Rust.

Orders and lines are COPYed straight into their tables, with ids drawn from the sequences
up front so the lines can carry their order's id; no staging table and no INSERT ... SELECT
for the common case. COPY has no ON CONFLICT: the chunk's orders were filtered against
`orders` in this same transaction, so a conflict can only come from a concurrent writer
(another importer, or a live channel writing into the same source) that inserted one of them
meanwhile. Then the COPY fails inside a savepoint and the chunk takes the conflict-tolerant
path, `INSERT ... SELECT ... ON CONFLICT DO NOTHING` through staging tables, which skips such
orders exactly as before. Unique indexes stay in force on both paths.

Foreign keys: PostgreSQL checks them row by row, one trigger query per row and key
(`SELECT 1 FROM customers WHERE id = $1 FOR KEY SHARE`), which was half of the server's time
for a chunk (EXPLAIN ANALYZE: 1.5 s of ~2.8 s per 100k lines). Where the importing role may
set `session_replication_role` (a superuser, or `GRANT SET ON PARAMETER
session_replication_role`) and the four foreign keys below are the only insert triggers of
the two tables, the same check is made once per parent instead: every customer, store and
product the chunk refers to is locked `FOR KEY SHARE` in id order, exactly the lock the
trigger takes, and counted; only when all exist are the row triggers skipped for the two
COPYs (`SET LOCAL`, this transaction only; live writers keep their triggers). Lines refer to
orders this same COPY created. A parent that is gone sends the chunk through the triggers,
which refuse it as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
from psycopg import sql
from psycopg.errors import UniqueViolation
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

from trofast.imports import columns
from trofast.imports.repository_copy import copy_in, copy_out, lookup, next_ids

# Lookups probe the unique index once per key: LIMIT 1 keeps each LATERAL subquery a
# nested-loop probe whatever the statistics say. As `key = ANY(array)` the planner, told by
# statistics from before this import that the new source was rare, filtered every row of
# the source through the array instead: each chunk then read the whole source, 0.1 s per
# 200k orders and growing with every chunk; the probes cost the same at any table size.
_EXISTING_ORDERS = """
SELECT k.value FROM import_keys k CROSS JOIN LATERAL (
    SELECT 1 FROM orders o WHERE o.source = k.source AND o.external_id = k.value LIMIT 1
) AS hit
"""
_IDENTITY_HOLDERS = """
SELECT k.kind, k.source, k.value, hit.customer_id FROM import_keys k CROSS JOIN LATERAL (
    SELECT ci.customer_id FROM customer_identities ci
    WHERE ci.kind = k.kind AND ci.source = k.source AND ci.value = k.value
    LIMIT 1
) AS hit
"""
_TEXT = pl.String()


def existing_orders(session: Session, source: str, external_ids: Sequence[str]) -> set[str]:
    if not external_ids:
        return set()
    keys = pl.DataFrame({"value": external_ids}, schema={"value": _TEXT}).with_columns(
        pl.lit("order").alias("kind"), pl.lit(source).alias("source")
    )
    found = lookup(session, keys, _EXISTING_ORDERS, {"value": _TEXT})
    return set(found.get_column("value").to_list())


def identity_holders(
    session: Session, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], int]:
    frame = pl.DataFrame(
        list(keys), schema={"kind": _TEXT, "source": _TEXT, "value": _TEXT}, orient="row"
    )
    if frame.is_empty():
        return {}
    schema = {"kind": _TEXT, "source": _TEXT, "value": _TEXT, "customer_id": pl.Int64()}
    found = lookup(session, frame, _IDENTITY_HOLDERS, schema)
    return {(k, s, v): c for k, s, v, c in found.iter_rows()}


_IDENTITIES_STAGE = """
CREATE TEMP TABLE import_identities ON COMMIT DROP AS
SELECT customer_id, kind, source, value, created_at FROM customer_identities WITH NO DATA
"""
_CLAIM_IDENTITIES = """
INSERT INTO customer_identities (customer_id, kind, source, value, created_at)
SELECT customer_id, kind, source, value, created_at FROM import_identities
ORDER BY kind, source, value
ON CONFLICT (kind, source, value) DO NOTHING RETURNING kind, source, value
"""


def insert_identities(session: Session, rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Claim the identities no one holds (rows sorted by key); the keys claimed."""
    session.execute(text(_IDENTITIES_STAGE))
    copy_in(session, "import_identities", pl.DataFrame(rows))
    schema = {"kind": _TEXT, "source": _TEXT, "value": _TEXT}
    claimed = copy_out(session, sql.SQL(_CLAIM_IDENTITIES), schema)
    session.execute(text("DROP TABLE import_identities"))
    return set(claimed.iter_rows())


def insert_orders(
    session: Session, source: str, orders: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> tuple[int, int]:
    """(orders, lines) inserted; orders that exist meanwhile are skipped with their lines."""
    # External id order, so concurrent importers take unique-index locks in one order.
    orders = orders.sort("external_id")
    try:
        with session.begin_nested():
            return _copy_orders(session, source, orders, lines, now)
    except UniqueViolation:
        return _insert_orders_select(session, source, orders, lines, now)


# (table, column, referenced table): the insert triggers `_lock_parents` stands in for.
CHECKED_KEYS = frozenset(
    {
        ("orders", "customer_id", "customers"),
        ("orders", "store_id", "stores"),
        ("order_lines", "order_id", "orders"),
        ("order_lines", "product_id", "products"),
    }
)
# Every trigger that fires on INSERT into the two tables, with the single-column foreign key
# it checks (NULLs for any other trigger, which then keeps the row-by-row path).
_INSERT_TRIGGERS = """
SELECT t.tgrelid::regclass::text, a.attname, c.confrelid::regclass::text
FROM pg_trigger t
LEFT JOIN pg_constraint c
    ON c.oid = t.tgconstraint AND c.contype = 'f' AND c.conrelid = t.tgrelid
    AND cardinality(c.conkey) = 1
LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE t.tgrelid IN ('orders'::regclass, 'order_lines'::regclass)
    AND t.tgtype & 4 <> 0 AND t.tgenabled <> 'D'
"""
# FOR KEY SHARE in id order: the trigger's lock, taken in one order by every importer.
_LOCK_PARENTS = {
    table: text(statement).bindparams(bindparam("ids", type_=ARRAY(BIGINT)))
    for table, statement in {
        "customers": "SELECT count(*) FROM (SELECT 1 FROM customers WHERE id = ANY(:ids) "
        "ORDER BY id FOR KEY SHARE) AS locked",
        "stores": "SELECT count(*) FROM (SELECT 1 FROM stores WHERE id = ANY(:ids) "
        "ORDER BY id FOR KEY SHARE) AS locked",
        "products": "SELECT count(*) FROM (SELECT 1 FROM products WHERE id = ANY(:ids) "
        "ORDER BY id FOR KEY SHARE) AS locked",
    }.items()
}
_MAY_SET_ROLE = {
    # has_parameter_privilege() is new in PostgreSQL 15; before it only a superuser may.
    False: "SELECT current_setting('is_superuser') = 'on'",
    True: "SELECT current_setting('is_superuser') = 'on' "
    "OR has_parameter_privilege('session_replication_role', 'SET')",
}


def may_check_keys_in_bulk(session: Session) -> bool:
    """The role may skip row triggers and the tables have no insert trigger but ours."""
    version = session.get_bind().dialect.server_version_info or (0,)
    if not session.scalar(text(_MAY_SET_ROLE[version >= (15,)])):
        return False
    # The lock COPY takes anyway (live writers are not blocked), taken before reading the
    # catalogue: CREATE TRIGGER waits for it, so no trigger can appear between this check
    # and the COPYs it allows.
    session.execute(text("LOCK TABLE orders, order_lines IN ROW EXCLUSIVE MODE"))
    triggers = [tuple(row) for row in session.execute(text(_INSERT_TRIGGERS))]
    return len(triggers) == len(CHECKED_KEYS) and set(triggers) == CHECKED_KEYS


def _lock_parents(session: Session, orders: pl.DataFrame, lines: pl.DataFrame) -> bool:
    """Lock every parent row the chunk refers to; False when one of them does not exist."""
    wanted = {
        "customers": orders.get_column("customer_id"),
        "stores": orders.get_column("store_id"),
        "products": lines.get_column("product_id"),
    }
    for table, column in wanted.items():
        ids = column.drop_nulls().unique().sort().to_list()
        if ids and session.scalar(_LOCK_PARENTS[table], {"ids": ids}) != len(ids):
            return False
    return True


def _copy_orders(
    session: Session, source: str, orders: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> tuple[int, int]:
    ids = next_ids(session, "orders", orders.height)
    orders = orders.with_columns(ids)
    # Timestamps as the text COPY reads, each formatted once: the order date fills three
    # columns and `now` three more, and formatting them per column and row cost more client
    # CPU than the rest of the COPY payload.
    stamp = now.astimezone(UTC).strftime(_TIMESTAMP)
    fixed = {**columns.NEW_ORDER, "source": source, "snapshot_at": stamp}
    fixed |= {"created_at": stamp, "updated_at": stamp}
    placed = pl.col("placed_at").dt.strftime(_TIMESTAMP_FORMAT)
    rows = orders.with_columns(placed).with_columns(
        pl.col("placed_at").alias("paid_at"),
        pl.col("placed_at").alias("source_updated_at"),
        *(_literal(name, value) for name, value in fixed.items() if value is not None),
    )
    in_bulk = may_check_keys_in_bulk(session) and _lock_parents(session, orders, lines)
    if in_bulk:
        session.execute(text("SET LOCAL session_replication_role = replica"))
    copy_in(session, "orders", rows)
    new_lines = lines.join(
        orders.select(pl.col("external_id").alias("order_external_id"), pl.col("id")),
        on="order_external_id",
        how="inner",
        maintain_order="left",
    ).select(
        pl.col("id").alias("order_id"),
        pl.exclude("id", "order_external_id"),
        pl.lit(0, dtype=pl.Int64).alias("tax_minor"),
        pl.lit(False).alias("gift_card"),
    )
    copy_in(session, "order_lines", new_lines)
    if in_bulk:
        session.execute(text("SET LOCAL session_replication_role = origin"))
    return orders.height, new_lines.height


_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%f+00:00"  # strftime; the frames' timestamps are UTC
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f+00:00"  # the same in Polars (chrono)


def _literal(name: str, value: Any) -> pl.Expr:
    if isinstance(value, list | dict):
        return pl.lit(json.dumps(value), dtype=pl.String).alias(name)  # jsonb, as its text
    return pl.lit(value).alias(name)


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
# existing orders get no lines and no second round trip is needed.
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


def _insert_orders_select(
    session: Session, source: str, orders: pl.DataFrame, lines: pl.DataFrame, now: datetime
) -> tuple[int, int]:
    # The join of a chunk's lines to its new orders sorts ~100k rows: with the default 4 MB
    # it spills to disk. Local to this transaction only.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text(_ORDERS_STAGE))
    session.execute(text(_LINES_STAGE))
    copy_in(session, "import_orders", orders)
    copy_in(session, "import_lines", lines)
    created, added = session.execute(text(_INSERT_ORDERS), {"source": source, "now": now}).one()
    session.execute(text("DROP TABLE import_orders, import_lines"))
    return int(created), int(added)
