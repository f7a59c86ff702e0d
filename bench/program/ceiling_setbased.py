"""How fast could a set-based batch path be? A ceiling, measured on PostgreSQL.

    python -m bench.program.ceiling_setbased [--batches 30] [--batch 100]

Not Trofast's event path: a feasibility measurement for the set-based batch path that
issue 3's 3,000 events/s target needs and that does not exist yet (docs/benchmarks.md).
For each batch of `--batch` order.placed events (every event a different returning member,
two lines each, the shape of `profile_apply`), it runs the statements such a path would run,
each once per batch instead of once per event, in one transaction:

    claim the delivery and the events; read identities, existing orders, products;
    insert orders, status changes, lines and earnings claims; lock the members' accounts;
    read tiers and earlier paid orders; evaluate the demo programme's rules per order
    (the engine's own `earning.evaluate`); insert ledger transactions, lots, postings and
    earning lines; set the orders' points; sum each member's tier-period points;
    finish the events and the delivery.

What it leaves out is what an event of this shape does not reach on the real path (new
customers, coupons, referrals, enrolment, refunds, tier changes) and every check the real
path makes in Python beyond the rules. So its figure is an upper bound on what the batch
path can reach on this machine, and the gap to the per-event path is what is at stake.
Prints events/s and the CPU per event of this process and of its database's PostgreSQL
processes (which include autovacuum, busy on tables that grow this fast).

`--insert executemany` draws ids from the sequences and inserts with psycopg's pipelined
executemany instead of one multi-row INSERT (whose long text psycopg parses anew each time);
`--without-fk-checks` skips the foreign key checks, to show what they cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.ledger.bench_verify import MEMBERS, build_in_sql
from bench.program.profile_apply import backend_cpu_seconds
from bench.scratch import fresh_database
from sqlalchemy import Connection, Table, bindparam, event, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from trofast.config import Settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.ledger.core import SYSTEM_KINDS
from trofast.models import (
    CustomerIdentity,
    Delivery,
    Event,
    LedgerAccount,
    LedgerLot,
    LedgerPosting,
    LedgerTransaction,
    MemberTier,
    Order,
    OrderLine,
    OrderStatusChange,
    Product,
)
from trofast.models.program import EarningLine, OrderEarning
from trofast.program import earning
from trofast.program import service as program_service
from trofast.program.document import Programme

PROGRAMME = Path("src/trofast/demo/programme.yaml")
PLACED = datetime(2026, 3, 1, 10, tzinfo=UTC)
SKUS = 200

# The members of bench_verify (system accounts 1..6, member c's pending and available
# accounts); each has an external id and an earlier paid order.
SETUP = [
    *MEMBERS,
    """INSERT INTO customer_identities (customer_id, kind, source, value, created_at)
       SELECT c, 'external', 'api', 'c' || c, now() FROM generate_series(1, :members) c""",
    """INSERT INTO products (sku, name, category, sustainable, updated_at)
       SELECT 'SKU-' || i, 'Product ' || i, CASE WHEN i % 4 = 0 THEN 'coffee' END,
              i % 10 = 0, now()
       FROM generate_series(0, :skus - 1) i""",
    """INSERT INTO orders (source, external_id, customer_id, channel, status, financial_status,
                          fulfillment_status, currency, subtotal_minor, discount_minor,
                          shipping_minor, tax_minor, total_minor, refunded_minor,
                          discount_codes, loyalty_opt_in, placed_at, paid_at, snapshot_at,
                          created_at, updated_at, attributes)
       SELECT 'api', 'old-' || c, c, 'web', 'open', 'paid', 'unfulfilled', 'NOK', 10000, 0,
              0, 0, 10000, 0, '[]', false, now() - interval '1 year',
              now() - interval '1 year', now(), now(), now(), '{}'
       FROM generate_series(1, :members) c""",
]


def table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def ids(drawn: bool, conn: Connection, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows`, their ids in the order of `rows`: with `drawn` (--insert executemany)
    the ids come from the sequence first and psycopg's pipelined executemany of a short
    statement inserts; otherwise one multi-row INSERT ... RETURNING (insertmanyvalues)."""
    t = table(model)
    if drawn:
        drawn = list(conn.execute(NEXTVAL, {"table": t.name, "n": len(rows)}).scalars())
        conn.execute(insert(t), [{**row, "id": i} for row, i in zip(rows, drawn, strict=True)])
        return drawn
    stmt = insert(t).returning(t.c.id, sort_by_parameter_order=True)
    return [row.id for row in conn.execute(stmt, rows)]


NEXTVAL = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def apply_batch(
    conn: Connection, programme: Programme, version: int, run: str, first: int, size: int,
    members: int, drawn: bool,
) -> None:  # fmt: skip
    now = datetime.now(UTC)
    numbers = range(first, first + size)
    customers = [n % members + 1 for n in numbers]
    events = [_event(run, n, c) for n, c in zip(numbers, customers, strict=True)]
    [delivery_id] = ids(drawn, conn, Delivery, [_delivery(events, now)])
    event_ids = ids(drawn, conn, Event, [_event_row(e, delivery_id, now) for e in events])

    identity = table(CustomerIdentity)
    found = dict(
        conn.execute(
            select(identity.c.value, identity.c.customer_id).where(
                identity.c.kind == "external",
                identity.c.source == "api",
                identity.c.value.in_([e["order"]["customer"]["external_id"] for e in events]),
            )
        ).all()
    )
    orders = table(Order)
    taken = conn.execute(
        select(orders.c.external_id).where(
            orders.c.source == "api",
            orders.c.external_id.in_([e["order"]["id"] for e in events]),
        )
    ).all()
    assert not taken
    products = table(Product)
    catalogue = {
        row.sku: row
        for row in conn.execute(
            select(products).where(
                products.c.sku.in_({ln["sku"] for e in events for ln in e["order"]["lines"]})
            )
        )
    }
    order_ids = ids(drawn, conn, Order, [_order_row(e, found, now) for e in events])
    conn.execute(
        insert(table(OrderStatusChange)),
        [
            {"order_id": o, "field": "financial_status", "old_value": None,
             "new_value": "paid", "occurred_at": PLACED, "event_id": ev}
            for o, ev in zip(order_ids, event_ids, strict=True)
        ],
    )  # fmt: skip
    line_rows = [
        _line_row(order_id, line, catalogue)
        for order_id, e in zip(order_ids, events, strict=True)
        for line in e["order"]["lines"]
    ]
    line_ids = ids(drawn, conn, OrderLine, line_rows)
    claims = table(OrderEarning)
    claimed = conn.execute(
        pg_insert(claims)
        .values(
            [
                {"order_id": o, "customer_id": c, "programme_version": version, "points": 0,
                 "created_at": now}
                for o, c in zip(order_ids, customers, strict=True)
            ]
        )
        .on_conflict_do_nothing()
        .returning(claims.c.order_id)
    ).all()  # fmt: skip
    assert len(claimed) == size
    accounts = table(LedgerAccount)
    member_accounts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(
        select(accounts.c.id, accounts.c.customer_id, accounts.c.kind)
        .where(accounts.c.customer_id.in_(customers))
        .order_by(accounts.c.id)
        .with_for_update()
    ):
        member_accounts[row.customer_id][row.kind] = row.id
    tiers = table(MemberTier)
    levels = dict(
        conn.execute(
            select(tiers.c.customer_id, tiers.c.level).where(tiers.c.customer_id.in_(customers))
        ).all()
    )
    returning = set(
        conn.execute(
            select(orders.c.customer_id)
            .where(
                orders.c.customer_id.in_(customers),
                orders.c.paid_at.is_not(None),
                orders.c.id.not_in(order_ids),
            )
            .distinct()
        ).scalars()
    )

    window = timedelta(days=programme.pending.return_window_days)
    transactions, awards_of = [], []
    lines_of_order: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for line_id, row in zip(line_ids, line_rows, strict=True):
        lines_of_order[row["order_id"]].append((line_id, row))
    for order_id, customer, event_id in zip(order_ids, customers, event_ids, strict=True):
        facts = _facts(programme, lines_of_order[order_id], catalogue, levels.get(customer),
                       first=customer not in returning)  # fmt: skip
        for award in earning.evaluate(programme, facts):
            transactions.append(
                {"idempotency_key": f"order:{order_id}:earn:{award.rule}",
                 "request_hash": "0" * 64, "kind": "earn", "customer_id": customer,
                 "event_id": event_id, "order_id": order_id, "programme_version": version,
                 "rule": award.rule, "created_at": now, "effective_at": PLACED}
            )  # fmt: skip
            awards_of.append((award, customer, order_id))
    transaction_ids = ids(drawn, conn, LedgerTransaction, transactions)
    lot_ids = ids(
        drawn,
        conn,
        LedgerLot,
        [
            {"customer_id": customer, "transaction_id": tx, "points": award.points,
             "remaining": award.points, "state": "pending", "earned_at": now,
             "available_at": PLACED + window, "expires_at": None}
            for tx, (award, customer, _) in zip(transaction_ids, awards_of, strict=True)
        ],
    )  # fmt: skip
    postings, earned_lines = [], []
    points_of_order: dict[int, int] = defaultdict(int)
    for tx, lot, (award, customer, order_id) in zip(
        transaction_ids, lot_ids, awards_of, strict=True
    ):
        postings += [
            {"transaction_id": tx, "account_id": 1, "amount": -award.points, "lot_id": None},
            {"transaction_id": tx, "account_id": member_accounts[customer]["pending"],
             "amount": award.points, "lot_id": lot},
        ]  # fmt: skip
        earned_lines += [
            {"transaction_id": tx, "order_line_id": line, "points": points}
            for line, points in award.lines.items()
        ]
        points_of_order[order_id] += award.points
    conn.execute(insert(table(LedgerPosting)), postings)
    conn.execute(insert(table(EarningLine)), earned_lines)
    conn.execute(
        update(claims).where(claims.c.order_id == bindparam("oid")).values(points=bindparam("pts")),
        [{"oid": o, "pts": p} for o, p in points_of_order.items()],
    )
    posting, tx_table = table(LedgerPosting), table(LedgerTransaction)
    dict(
        conn.execute(
            select(tx_table.c.customer_id, func.coalesce(func.sum(posting.c.amount), 0))
            .join(posting, posting.c.transaction_id == tx_table.c.id)
            .where(
                tx_table.c.customer_id.in_(customers),
                tx_table.c.kind == "earn",
                posting.c.account_id != 1,
                tx_table.c.effective_at >= datetime(2026, 1, 1, tzinfo=UTC),
            )
            .group_by(tx_table.c.customer_id)
        ).all()
    )
    events_table = table(Event)
    conn.execute(
        update(events_table)
        .where(events_table.c.id == bindparam("eid"))
        .values(status="applied", result=bindparam("res"), applied_at=now),
        [
            {"eid": ev, "res": {"status": "applied", "order_id": o, "points": points_of_order[o]}}
            for ev, o in zip(event_ids, order_ids, strict=True)
        ],
    )
    conn.execute(
        update(table(Delivery))
        .where(table(Delivery).c.id == delivery_id)
        .values(status="processed", event_count=size, processed_at=now)
    )


def _event(run: str, num: int, customer: int) -> dict[str, Any]:
    return {
        "idempotency_key": f"ceiling-{run}-{num}",
        "type": "order.placed",
        "occurred_at": PLACED.isoformat(),
        "order": {
            "id": f"{run}-{num}",
            "currency": "NOK",
            "placed_at": PLACED.isoformat(),
            "financial_status": "paid",
            "customer": {"external_id": f"c{customer}"},
            "lines": [
                {"id": "1", "sku": f"SKU-{num % SKUS}", "quantity": 2, "unit_price": 19900},
                {"id": "2", "sku": f"SKU-{(num + 7) % SKUS}", "quantity": 1, "unit_price": 4950},
            ],
            "shipping": 4900,
        },
    }


def _delivery(events: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    body = json.dumps({"events": events}).encode()
    return {"channel": "api", "source_name": "api", "topic": "events", "headers": {},
            "body": body, "body_sha256": "0" * 64, "received_at": now,
            "verification": "api_key", "status": "received", "event_count": 0,
            "attempts": 1}  # fmt: skip


def _event_row(event: dict[str, Any], delivery_id: int, now: datetime) -> dict[str, Any]:
    return {"idempotency_key": event["idempotency_key"], "type": event["type"],
            "request_hash": "0" * 64, "payload": event, "occurred_at": PLACED,
            "delivery_id": delivery_id, "status": "received", "created_at": now}  # fmt: skip


def _order_row(event: dict[str, Any], found: dict[str, int], now: datetime) -> dict[str, Any]:
    order = event["order"]
    subtotal = sum(line["quantity"] * line["unit_price"] for line in order["lines"])
    return {"source": "api", "external_id": order["id"],
            "customer_id": found[order["customer"]["external_id"]], "channel": "web",
            "status": "open", "financial_status": "paid", "fulfillment_status": "unfulfilled",
            "currency": "NOK", "subtotal_minor": subtotal, "discount_minor": 0,
            "shipping_minor": order["shipping"], "tax_minor": 0,
            "total_minor": subtotal + order["shipping"], "refunded_minor": 0,
            "discount_codes": [], "loyalty_opt_in": False, "placed_at": PLACED,
            "paid_at": PLACED, "snapshot_at": now, "created_at": now, "updated_at": now,
            "attributes": {}}  # fmt: skip


def _line_row(order_id: int, line: dict[str, Any], catalogue: dict[str, Any]) -> dict[str, Any]:
    total = line["quantity"] * line["unit_price"]
    return {"order_id": order_id, "external_id": line["id"], "sku": line["sku"],
            "product_id": catalogue[line["sku"]].id, "quantity": line["quantity"],
            "unit_price_minor": line["unit_price"], "discount_minor": 0, "tax_minor": 0,
            "total_minor": total, "gift_card": False}  # fmt: skip


def _facts(
    programme: Programme,
    lines: list[tuple[int, dict[str, Any]]],
    catalogue: dict[str, Any],
    level: str | None,
    *,
    first: bool,
) -> earning.OrderFacts:
    values = earning.net_line_values(
        [{"line_id": i, "total": r["total_minor"], "tax": 0, "gift_card": False}
         for i, r in lines],
        0,
        prices_include_tax=programme.prices_include_tax,
    )  # fmt: skip
    tier = None
    if programme.tiers is not None:
        tier = next((lv for lv in programme.tiers.levels if lv.id == level), None)
    return earning.OrderFacts(
        currency="NOK",
        channel="web",
        store=None,
        placed_at=PLACED,
        lines=[
            earning.LineFacts(
                line_id=i, quantity=r["quantity"], value=values[i], sku=r["sku"],
                category=catalogue[r["sku"]].category, brand=catalogue[r["sku"]].brand,
                sustainable=bool(catalogue[r["sku"]].sustainable),
            )
            for i, r in lines
        ],
        first_order=first,
        tier=tier,
    )  # fmt: skip


def _replica(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--insert", choices=("values", "executemany"), default="values")
    parser.add_argument(
        "--without-fk-checks",
        action="store_true",
        help="measure with foreign keys unchecked (session_replication_role = replica)",
    )
    args = parser.parse_args()
    url = fresh_database("trofast_bench_ceiling")
    params = {"members": args.members, "skus": SKUS, "kinds": list(SYSTEM_KINDS)}
    build_in_sql(url, SETUP, params)
    engine = build_engine(Settings(database_url=url))
    if args.without_fk_checks:
        event.listen(engine, "connect", _replica)
    with unit_of_work(build_sessionmaker(engine)) as session:
        version = program_service.apply(session, PROGRAMME.read_text()).row.version
        programme = program_service.programme_of(session, version)
    drawn = args.insert == "executemany"
    run = str(int(time.time()))
    with engine.begin() as conn:  # warm up: caches, prepared statements
        apply_batch(conn, programme, version, run + "w", 0, args.batch, args.members, drawn)
    # Statistics for tables that were empty at the first ANALYZE: planned as empty, the
    # foreign key checks into them scan the whole table, slower with every batch.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    backend_before = backend_cpu_seconds(engine)
    cpu_before, began = time.process_time(), time.perf_counter()
    for b in range(args.batches):
        with engine.begin() as conn:
            first = b * args.batch
            apply_batch(conn, programme, version, run, first, args.batch, args.members, drawn)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_before
    backend_after = backend_cpu_seconds(engine)
    events = args.batches * args.batch
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    line = f"{events} events in batches of {args.batch}, --insert {args.insert}"
    line += ", without FK checks" if args.without_fk_checks else ""
    line += f": {events / elapsed:,.0f} events/s"
    line += f", wall {elapsed * 1000 / events:.3f} ms/event"
    line += f", client CPU {cpu * 1000 / events:.3f} ms/event"
    if backend_before is not None and backend_after is not None:
        line += f", PostgreSQL CPU {(backend_after - backend_before) * 1000 / events:.3f} ms/event"
    print(line)
    engine.dispose()


if __name__ == "__main__":
    main()
