"""Two customers named by one event's keys: merged into one, or left apart for review."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.customer.helpers import ingest, receipt, row_counts, upserted
from tests.program.conftest import BASIC
from trofast.customer import merge, repository
from trofast.ledger import queries
from trofast.ledger.verify import verify
from trofast.models import (
    Base,
    Checkout,
    Consent,
    Coupon,
    CouponCustomerUse,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    LedgerTransaction,
    Order,
    ProductView,
)
from trofast.program import service as programmes

EMAIL = "kari@example.no"
PHONE = "+4791234567"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _customer_of(results: list[dict[str, object]]) -> int:
    customer_id = results[-1]["customer_id"]
    assert isinstance(customer_id, int)
    return customer_id


def _identities(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id)
    )
    return {(kind, value): customer for kind, value, customer in rows}


def _merges(session: Session) -> list[tuple[int, int, str]]:
    rows = session.execute(
        select(CustomerMerge.survivor_id, CustomerMerge.absorbed_id, CustomerMerge.status)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _points(session: Session, customer_id: int) -> int:
    """Pending and available together: which one depends on today's date, not the merge."""
    return sum(queries.pending_and_available(session, customer_id))


def _changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def _view(email: str | None = None, phone: str | None = None) -> dict[str, object]:
    customer = {k: v for k, v in {"email": email, "phone": phone}.items() if v}
    return {
        "idempotency_key": f"view:{email}:{phone}",
        "type": "product.viewed",
        "occurred_at": "2026-02-20T10:00:00Z",
        "customer": customer,
        "product": {"sku": "SKU-1"},
    }


def _cart(email: str) -> dict[str, object]:
    return {
        "idempotency_key": f"cart:{email}",
        "type": "checkout.started",
        "occurred_at": "2026-02-21T10:00:00Z",
        "checkout": {"id": "CO-1", "customer": {"email": email}, "currency": "NOK", "total": "99"},
    }


def test_the_phone_of_one_and_the_email_of_another_merge_into_the_older(
    db_session: Session,
) -> None:
    # Given a till customer known by phone (with consent and a receipt), and later a web
    # customer known by e-mail (with a name, an order, a cart and a product view)
    till = ingest(
        db_session,
        {**upserted("till", phone=PHONE), "consents": [{"channel": "sms", "granted": True}]},
        receipt("R-1", phone=PHONE),
    )
    older = _customer_of(till)
    web = ingest(
        db_session,
        upserted("web", email=EMAIL, first_name="Kari", locale="nb"),
        receipt("W-1", email=EMAIL),
        _cart(EMAIL),
        _view(email=EMAIL),
    )
    newer = _customer_of(web)
    assert older < newer
    before = row_counts(db_session)

    # When one event carries both keys
    [result] = ingest(db_session, upserted("both", email=EMAIL, phone=PHONE))

    # Then the newer customer is merged into the older one
    assert result["customer_id"] == older
    assert db_session.get(Customer, newer) is None
    assert _identities(db_session) == {("phone", PHONE): older, ("email", EMAIL): older}
    owners = dict(db_session.execute(select(Order.external_id, Order.customer_id)).all())
    assert owners == {"R-1": older, "W-1": older}
    assert set(db_session.scalars(select(Consent.customer_id))) == {older}
    assert set(db_session.scalars(select(Checkout.customer_id))) == {older}
    assert set(db_session.scalars(select(ProductView.customer_id))) == {older}
    survivor = db_session.get(Customer, older)
    assert survivor is not None
    # Gaps filled from the absorbed profile; nothing of the survivor's overwritten.
    assert (survivor.email, survivor.phone, survivor.first_name, survivor.locale) == (
        EMAIL,
        PHONE,
        "Kari",
        "nb",
    )
    [row] = db_session.scalars(select(CustomerMerge))
    assert (row.survivor_id, row.absorbed_id, row.status) == (older, newer, "merged")
    assert row.keys == [
        {"kind": "email", "source": "", "value": EMAIL},
        {"kind": "phone", "source": "", "value": PHONE},
    ]
    assert {k: v for k, v in row.absorbed.items() if k != "created_at"} == {
        "email": EMAIL,
        "phone": None,
        "first_name": "Kari",
        "last_name": None,
        "birthday": None,
        "locale": "nb",
    }
    assert row.moved == {
        "customer_identities": 1,
        "consents": 0,
        "orders": 1,
        "checkouts": 1,
        "product_views": 1,
        "coupon_redemptions": 0,
        "coupons": 0,
        "coupon_customer_uses": 0,
    }
    # And nothing else was written: one event, one customer fewer, one merge record.
    assert _changes(before, row_counts(db_session)) == {
        "events": 1,
        "customers": -1,
        "customer_merges": 1,
    }


def test_a_web_account_and_a_till_customer_by_its_email_keep_the_older_till_customer(
    db_session: Session,
) -> None:
    till = _customer_of(ingest(db_session, receipt("R-1", email=EMAIL)))
    web = _customer_of(
        ingest(db_session, upserted("acct", source="shopify:shop", external_id="8812"))
    )

    [result] = ingest(
        db_session, upserted("acct-2", source="shopify:shop", external_id="8812", email=EMAIL)
    )

    # The external id is the strongest key, but the older customer survives all the same.
    assert result["customer_id"] == till
    assert db_session.get(Customer, web) is None
    assert _identities(db_session) == {("email", EMAIL): till, ("external", "8812"): till}
    assert _merges(db_session) == [(till, web, "merged")]


def test_replays_and_later_events_with_the_same_keys_change_nothing(db_session: Session) -> None:
    older = _customer_of(ingest(db_session, upserted("till", phone=PHONE)))
    ingest(db_session, upserted("web", email=EMAIL))
    join = upserted("both", email=EMAIL, phone=PHONE)
    ingest(db_session, join)
    before = row_counts(db_session)

    [replay] = ingest(db_session, join)
    [later] = ingest(db_session, upserted("both-again", email=EMAIL, phone=PHONE))

    assert (replay["status"], replay["customer_id"]) == ("duplicate", older)
    assert (later["status"], later["customer_id"]) == ("applied", older)
    assert _changes(before, row_counts(db_session)) == {"events": 1}


@pytest.fixture
def programme(db_session: Session) -> int:
    return programmes.apply(db_session, BASIC).row.version


@pytest.mark.usefixtures("programme")
def test_the_member_with_points_survives_even_when_newer(db_session: Session) -> None:
    # Given an older customer who only browsed (no loyalty history) and a newer member who
    # earned points on a receipt
    browser = _customer_of(ingest(db_session, _view(phone=PHONE)))
    member = _customer_of(ingest(db_session, receipt("R-1", email=EMAIL)))
    balance = _points(db_session, member)
    transactions = list(db_session.scalars(select(LedgerTransaction.id)))
    assert balance == 600  # 500 for 500.00 NOK and the first-order bonus

    [result] = ingest(db_session, upserted("both", email=EMAIL, phone=PHONE))

    # Then the browser is merged into the member, and the ledger is exactly as it was
    assert result["customer_id"] == member
    assert db_session.get(Customer, browser) is None
    assert _merges(db_session) == [(member, browser, "merged")]
    assert set(db_session.scalars(select(ProductView.customer_id))) == {member}
    assert _points(db_session, member) == 600
    assert list(db_session.scalars(select(LedgerTransaction.id))) == transactions
    assert verify(db_session) == []


@pytest.mark.usefixtures("programme")
def test_two_members_with_points_are_left_apart_as_a_candidate(db_session: Session) -> None:
    # Given two members who earned points in two channels
    by_phone = _customer_of(ingest(db_session, receipt("R-1", phone=PHONE)))
    by_email = _customer_of(ingest(db_session, receipt("W-1", email=EMAIL)))
    before = row_counts(db_session)

    # When one event names both, twice
    [first] = ingest(db_session, upserted("both", email=EMAIL, phone=PHONE))
    [second] = ingest(db_session, upserted("both-again", email=EMAIL, phone=PHONE))

    # Then nothing is merged: one candidate for an admin, the ledger untouched
    assert first["customer_id"] == second["customer_id"] == by_email  # e-mail outranks phone
    [row] = db_session.scalars(select(CustomerMerge))
    assert (row.survivor_id, row.absorbed_id, row.status) == (by_phone, by_email, "candidate")
    assert (row.absorbed, row.moved) == ({}, {})
    assert _identities(db_session) == {("phone", PHONE): by_phone, ("email", EMAIL): by_email}
    assert _points(db_session, by_phone) == 600
    assert _points(db_session, by_email) == 600
    assert _changes(before, row_counts(db_session)) == {"events": 2, "customer_merges": 1}
    assert verify(db_session) == []


@pytest.mark.usefixtures("programme")
def test_a_third_customer_without_points_joins_the_oldest_member(db_session: Session) -> None:
    by_phone = _customer_of(ingest(db_session, receipt("R-1", phone=PHONE)))
    by_email = _customer_of(ingest(db_session, receipt("W-1", email=EMAIL)))
    by_account = _customer_of(ingest(db_session, upserted("acct", external_id="8812")))

    [result] = ingest(db_session, upserted("all", external_id="8812", email=EMAIL, phone=PHONE))

    assert result["customer_id"] == by_phone  # the external id now belongs to it
    assert sorted(_merges(db_session)) == [
        (by_phone, by_email, "candidate"),
        (by_phone, by_account, "merged"),
    ]
    assert db_session.get(Customer, by_account) is None
    assert verify(db_session) == []


def test_coupon_use_counters_are_added_up(db_session: Session) -> None:
    older = _customer_of(ingest(db_session, upserted("till", phone=PHONE)))
    newer = _customer_of(ingest(db_session, upserted("web", email=EMAIL)))
    shared, own = (_coupon(db_session, code) for code in ("SHARED", "OWN"))
    db_session.add_all(
        [
            CouponCustomerUse(coupon_id=shared, customer_id=older, uses=1),
            CouponCustomerUse(coupon_id=shared, customer_id=newer, uses=2),
            CouponCustomerUse(coupon_id=own, customer_id=newer, uses=1),
        ]
    )
    db_session.flush()

    ingest(db_session, upserted("both", email=EMAIL, phone=PHONE))

    uses = db_session.execute(
        select(CouponCustomerUse.coupon_id, CouponCustomerUse.customer_id, CouponCustomerUse.uses)
    )
    assert sorted(tuple(r) for r in uses) == sorted([(shared, older, 3), (own, older, 1)])


def _coupon(session: Session, code: str) -> int:
    coupon = Coupon(
        code=code,
        display=code,
        kind="percent",
        discount={"percent": 10},
        currency="NOK",
        created_at=NOW,
    )
    session.add(coupon)
    session.flush()
    return coupon.id


def test_the_absorbed_id_answers_where_the_customer_went(
    db_session: Session, app_client: TestClient, admin_headers: dict[str, str]
) -> None:
    older = _customer_of(ingest(db_session, upserted("till", phone=PHONE)))
    newer = _customer_of(ingest(db_session, upserted("web", email=EMAIL)))
    ingest(db_session, upserted("both", email=EMAIL, phone=PHONE))
    db_session.flush()

    gone = app_client.get(f"/v1/customers/{newer}", headers=admin_headers)
    kept = app_client.get(f"/v1/customers/{older}", headers=admin_headers)

    assert gone.status_code == 404
    assert gone.json()["code"] == "customer_not_found"
    assert gone.json()["detail"] == {"merged_into": older}
    assert kept.status_code == 200
    [entry] = kept.json()["merges"]
    assert {k: entry[k] for k in ("survivor_id", "absorbed_id", "status")} == {
        "survivor_id": older,
        "absorbed_id": newer,
        "status": "merged",
    }


def test_every_reference_to_a_customer_is_moved_summed_or_blocks_a_merge() -> None:
    # A new table with a customer_id must decide what a merge does with its rows.
    referencing = sorted(
        (fk.parent.table.name, fk.parent.name)
        for table in Base.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.table.name == "customers" and table.name != "customers"
    )
    classified = sorted(
        (column.expression.table.name, column.expression.name)
        for column in (
            *repository.LOYALTY_COLUMNS,
            *repository.MOVED_COLUMNS,
            *repository.SUMMED_COLUMNS,
        )
    )
    assert classified == referencing


@pytest.mark.parametrize(
    ("ids", "loyal", "expected"),
    [
        ([3, 7], set(), merge.Plan(3, (7,), ())),
        ([3, 7], {7}, merge.Plan(7, (3,), ())),
        ([3, 7], {3, 7}, merge.Plan(3, (), (7,))),
        ([9, 3, 7], {7, 9}, merge.Plan(7, (3,), (9,))),
    ],
)
def test_plan_keeps_loyalty_history_then_age(
    ids: list[int], loyal: set[int], expected: merge.Plan
) -> None:
    assert merge.plan(ids, loyal) == expected
