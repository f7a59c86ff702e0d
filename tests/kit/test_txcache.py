"""Facts read once per transaction (kit/txcache.py): the programme in force and the
system accounts, asked for by every order event of a delivery, and the rows an event
reads more than once (its customer, the member's tier)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from tests.ledger.conftest import new_member
from tests.program.conftest import BASIC
from tests.support.sql import sent
from trofast.db import build_sessionmaker, unit_of_work
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.kit.time import utc_now
from trofast.kit.txcache import hold
from trofast.ledger import queries
from trofast.ledger import repository as ledger_repository
from trofast.ledger import service as ledger
from trofast.ledger.core import member_accounts
from trofast.models import Customer, MemberTier
from trofast.program import service as programmes

OTHER = BASIC.replace("Test club", "Other club")


def test_the_programme_in_force_is_read_once_per_transaction(db_session: Session) -> None:
    programmes.apply(db_session, BASIC)
    db_session.commit()

    with sent(db_session) as seen:
        first = programmes.active(db_session)
        again = programmes.active(db_session)

    assert first is not None
    assert again == first
    assert sum("programme_versions" in s for s, _ in seen) == 1


def test_a_programme_applied_in_the_transaction_is_in_force_at_once(db_session: Session) -> None:
    programmes.apply(db_session, BASIC)
    assert programmes.require_active(db_session).programme.name == "Test club"

    programmes.apply(db_session, OTHER)

    assert programmes.require_active(db_session).programme.name == "Other club"


def test_a_rolled_back_savepoint_leaves_no_programme_behind(db_session: Session) -> None:
    programmes.apply(db_session, BASIC)
    savepoint = db_session.begin_nested()
    programmes.apply(db_session, OTHER)
    assert programmes.require_active(db_session).programme.name == "Other club"

    savepoint.rollback()

    assert programmes.require_active(db_session).programme.name == "Test club"


def test_a_version_applied_elsewhere_is_seen_from_the_next_transaction(
    committed_engine: Engine, is_postgres: bool
) -> None:
    factory = build_sessionmaker(committed_engine)
    with unit_of_work(factory) as session:
        programmes.apply(session, BASIC)
    reader = factory()
    try:
        assert programmes.require_active(reader).programme.name == "Test club"
        if not is_postgres:
            reader.commit()  # SQLite: the reader's transaction holds the write lock
        with unit_of_work(factory) as session:
            programmes.apply(session, OTHER)

        if is_postgres:
            # The reader's transaction keeps the programme it started with...
            assert programmes.require_active(reader).programme.name == "Test club"
            reader.commit()
        # ...and its next transaction reads the new one.
        assert programmes.require_active(reader).programme.name == "Other club"
    finally:
        reader.close()


def test_a_second_member_in_a_transaction_is_found_and_locked_in_one_statement(
    db_session: Session,
) -> None:
    now = utc_now()
    first, second = new_member(db_session, "a@example.no"), new_member(db_session, "b@example.no")
    for customer_id in (first, second):
        ledger.earn(db_session, customer_id, f"k{customer_id}", 10, now=now)
    db_session.commit()
    system = member_accounts(db_session, first, now).system

    with sent(db_session) as seen:
        accounts = member_accounts(db_session, second, now)

    assert len(seen) == 1
    assert "FOR UPDATE" in seen[0][0] or db_session.get_bind().dialect.name == "sqlite"
    assert (accounts.pending, accounts.available, accounts.opened) == (
        *stored_ids(db_session, second),
        False,
    )
    assert accounts.system == system
    ledger.earn(db_session, second, "again", 5, now=now, accounts=accounts)
    assert ledger_balance(db_session, second) == 15


def test_the_one_statement_holds_the_members_row_locks(
    committed_engine: Engine, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises every writer")
    now = utc_now()
    factory = build_sessionmaker(committed_engine)
    with unit_of_work(factory) as session:
        first, second = new_member(session, "a@example.no"), new_member(session, "b@example.no")
        for customer_id in (first, second):
            ledger.earn(session, customer_id, f"k{customer_id}", 10, now=now)
    holder = factory()
    try:
        member_accounts(holder, first, now)
        accounts = member_accounts(holder, second, now)  # the one-statement path
        with committed_engine.connect() as other:
            for account in (accounts.pending, accounts.available):
                with pytest.raises(OperationalError, match="could not obtain lock"):
                    other.execute(_NOWAIT, {"id": account})
                other.rollback()
    finally:
        holder.rollback()
        holder.close()


_NOWAIT = text("SELECT id FROM ledger_accounts WHERE id = :id FOR UPDATE NOWAIT")


def test_a_member_without_accounts_after_the_cache_is_filled_gets_them(
    db_session: Session,
) -> None:
    now = utc_now()
    first, newcomer = new_member(db_session, "a@example.no"), new_member(db_session, "n@example.no")
    system = member_accounts(db_session, first, now).system

    accounts = member_accounts(db_session, newcomer, now)

    assert accounts.opened is True
    assert (accounts.pending, accounts.available) == stored_ids(db_session, newcomer)
    assert accounts.system == system
    ledger.earn(db_session, newcomer, "k2", 7, now=now)
    ledger.earn(db_session, first, "k1", 10, now=now)
    assert ledger_balance(db_session, newcomer) == 7
    assert ledger_balance(db_session, first) == 10


def stored_ids(session: Session, customer_id: int) -> tuple[int, int]:
    """The member's (pending, available) account ids as stored."""
    names = [f"member:{customer_id}:{kind}" for kind in ("pending", "available")]
    found = ledger_repository.existing_accounts(session, names)
    return found[names[0]], found[names[1]]


def ledger_balance(session: Session, customer_id: int) -> int:
    return sum(queries.pending_and_available(session, customer_id))


def test_an_order_event_reads_its_customer_and_tier_once(db_session: Session) -> None:
    programmes.apply(db_session, BASIC)
    # The member, its accounts and its tier exist from here on.
    _ingest(db_session, order_body("1001"))
    db_session.commit()

    with sent(db_session) as seen:
        (result,) = _ingest(db_session, order_body("1002", key="second"))

    # Silver since the first order (1,278 points): its multiplier, read from the tier row.
    assert result["points"] == 2 * 1178
    assert _reads(seen, "customers") == 1  # with its identities, in one statement
    assert _reads(seen, "member_tiers") == 1


def _ingest(session: Session, body: dict[str, Any]) -> list[dict[str, Any]]:
    return apply_events(session, [_EVENT.validate_python(body)], None, currency="NOK")


_EVENT: TypeAdapter[Any] = TypeAdapter(CanonicalEvent)


def _reads(seen: list[tuple[str, Any]], table: str) -> int:
    """SELECTs that return columns of `table`."""
    columns = [" ".join(s.split()).split(" FROM ", 1)[0] for s, _ in seen]
    return sum(c.startswith("SELECT ") and f" {table}." in c for c in columns)


def test_a_held_row_is_answered_without_a_statement(db_session: Session) -> None:
    customer_id = new_member(db_session, "a@example.no")
    db_session.commit()
    hold(db_session, db_session.get(Customer, customer_id))

    with sent(db_session) as seen:
        row = db_session.get(Customer, customer_id)

    assert row is not None
    assert row.email == "a@example.no"
    assert seen == []


def test_only_the_latest_rows_are_held(db_session: Session) -> None:
    ids = [new_member(db_session, f"m{n}@example.no") for n in range(20)]
    db_session.commit()
    for customer_id in ids:
        hold(db_session, db_session.get(Customer, customer_id))
    gc.collect()

    held = {key[1][0] for key in db_session.identity_map if key[0] is Customer}

    # A long import in one transaction must not keep every row it touched.
    assert held == set(ids[-16:])


def test_rows_are_let_go_when_a_savepoint_ends(db_session: Session) -> None:
    customer_id = new_member(db_session, "a@example.no")
    db_session.commit()
    with db_session.begin_nested():
        hold(db_session, db_session.get(MemberTier, customer_id))
        hold(db_session, db_session.get(Customer, customer_id))
    gc.collect()

    assert not [key for key in db_session.identity_map if key[0] is Customer]


def test_a_new_customer_is_not_read_back(db_session: Session) -> None:
    programmes.apply(db_session, BASIC)

    with sent(db_session) as seen:
        (result,) = _ingest(db_session, order_body("1001", email="ny@example.no"))

    assert result["points"] == 1278
    # The identity probe (which found no one) is the only statement that reads customers.
    assert _reads(seen, "customers") == 1
