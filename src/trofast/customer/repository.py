from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select, union, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from trofast.kit.sql import insert_ignore, insert_ignore_all
from trofast.kit.txcache import hold
from trofast.models import (
    Checkout,
    Consent,
    Coupon,
    CouponCustomerUse,
    CouponRedemption,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    LedgerAccount,
    LedgerLot,
    LedgerTransaction,
    MemberTier,
    Order,
    OrderEarning,
    PointsPayment,
    ProductView,
    ReceiptClaim,
    Referral,
    ReferralCode,
    ReferralWeek,
    RewardMemberUse,
    RewardRedemption,
    TierChange,
)

IdentityKey = tuple[str, str, str]  # (kind, source, value)


def identities_for(
    session: Session, keys: Iterable[IdentityKey], *, with_customers: bool = False
) -> dict[IdentityKey, int]:
    """The customer each known key names. `with_customers`: their customer rows are read
    in the same statement and held for the transaction (`kit/txcache.hold`), so the
    profile update and the programme that follow an event's resolution read none again."""
    wanted = list(keys)
    if not wanted:
        return {}
    params = {
        f"{part}{n}": v for n, key in enumerate(wanted) for part, v in zip("ksv", key, strict=True)
    }
    rows = session.execute(_identities_for(len(wanted), with_customers), params)
    found = {}
    for row in rows:
        found[(row.kind, row.source, row.value)] = row.customer_id
        if with_customers:
            hold(session, row.Customer)
    return found


@cache
def _identities_for(count: int, with_customers: bool) -> Select[Any]:
    """Every event naming a customer resolves it through this: built once per key count.

    Spelled as OR-ed equalities, not `(kind, source, value) IN (...)`: SQLite answers the
    row-value IN with a scan of the whole table, while both databases probe the unique
    index once per key for this form (tests/test_query_plans.py).
    """
    columns: list[Any] = [
        CustomerIdentity.kind,
        CustomerIdentity.source,
        CustomerIdentity.value,
        CustomerIdentity.customer_id,
    ]
    query = (
        select(*columns, Customer).join(Customer, Customer.id == CustomerIdentity.customer_id)
        if with_customers
        else select(*columns)
    )
    return query.where(
        or_(
            *(
                and_(
                    CustomerIdentity.kind == bindparam(f"k{n}"),
                    CustomerIdentity.source == bindparam(f"s{n}"),
                    CustomerIdentity.value == bindparam(f"v{n}"),
                )
                for n in range(count)
            )
        )
    )


def insert_customer(session: Session, values: dict[str, Any]) -> int:
    customer = Customer(**values)
    session.add(customer)
    session.flush()
    # Held: the programme reads the new customer next, in the same event.
    return hold(session, customer).id


def claim_identities(
    session: Session, keys: Sequence[IdentityKey], customer_id: int, now: datetime
) -> set[IdentityKey]:
    """Attach identities unless another customer holds them, in one INSERT that takes them
    in the order given; the keys this call attached."""
    if not keys:
        return set()
    rows = [
        {"customer_id": customer_id, "kind": kind, "source": source, "value": value,
         "created_at": now}
        for kind, source, value in keys
    ]  # fmt: skip
    claimed = insert_ignore_all(
        session,
        CustomerIdentity.__table__,  # type: ignore[arg-type]
        rows,
        conflict=["kind", "source", "value"],
        returning=(CustomerIdentity.kind, CustomerIdentity.source, CustomerIdentity.value),
    )
    return {(row.kind, row.source, row.value) for row in claimed}


def move_identities(session: Session, from_id: int, to_id: int) -> None:
    session.execute(
        update(CustomerIdentity)
        .where(CustomerIdentity.customer_id == from_id)
        .values(customer_id=to_id)
    )


def delete_customer(session: Session, customer_id: int) -> None:
    session.execute(delete(Customer).where(Customer.id == customer_id))


def get(session: Session, customer_id: int) -> Customer | None:
    # Held for the rest of the event: the programme reads the same customer next.
    return hold(session, session.get(Customer, customer_id))


def add_consent(session: Session, consent: Consent) -> None:
    session.add(consent)


def identities_of(session: Session, customer_id: int) -> list[CustomerIdentity]:
    return list(
        session.scalars(
            select(CustomerIdentity)
            .where(CustomerIdentity.customer_id == customer_id)
            .order_by(CustomerIdentity.id)
        )
    )


def current_consents(session: Session, customer_id: int) -> list[Consent]:
    """The consent in force per channel: the newest `occurred_at` (then the newest row)."""
    rows = session.scalars(
        select(Consent)
        .where(Consent.customer_id == customer_id)
        .order_by(Consent.channel, Consent.occurred_at.desc(), Consent.id.desc())
    )
    latest: dict[str, Consent] = {}
    for consent in rows:
        latest.setdefault(consent.channel, consent)
    return list(latest.values())


def order_stats(session: Session, customer_id: int) -> tuple[int, int]:
    """(orders, net spend in minor units) over real orders, cancelled ones excluded."""
    row = session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0),
        ).where(
            Order.customer_id == customer_id,
            Order.snapshot_at.is_not(None),
            Order.status != "cancelled",
        )
    ).one()
    return int(row[0]), int(row[1])


def search(
    session: Session,
    *,
    email: str | None,
    phone: str | None,
    external_id: str | None,
    limit: int,
    after_id: int,
) -> list[Customer]:
    query = select(Customer).where(Customer.id > after_id).order_by(Customer.id).limit(limit)
    filters: list[tuple[str, str]] = []
    if email:
        filters.append(("email", email))
    if phone:
        filters.append(("phone", phone))
    for kind, value in filters:
        query = query.where(
            Customer.id.in_(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == kind,
                    CustomerIdentity.source == "",
                    CustomerIdentity.value == value,
                )
            )
        )
    if external_id:
        query = query.where(
            Customer.id.in_(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == "external", CustomerIdentity.value == external_id
                )
            )
        )
    return list(session.scalars(query))


# Every column that points at a customer is in exactly one of the three lists below (a test
# walks the metadata): a new table must decide whether a merge moves its rows or blocks it.

# Loyalty history: a customer with a row here is never absorbed by a merge. The ledger names
# its accounts after the customer id and hashes the id into every request, and lots,
# reversals, tiers and limits hang off those rows: moving them would rewrite history.
LOYALTY_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    LedgerAccount.customer_id,
    LedgerTransaction.customer_id,
    LedgerLot.customer_id,
    MemberTier.customer_id,
    TierChange.customer_id,
    OrderEarning.customer_id,
    RewardRedemption.customer_id,
    RewardMemberUse.customer_id,
    PointsPayment.customer_id,
    ReferralCode.customer_id,
    Referral.referrer_id,
    Referral.friend_id,
    ReferralWeek.referrer_id,
    ReceiptClaim.customer_id,
)
# Commerce facts: they move to the survivor as they are.
MOVED_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    CustomerIdentity.customer_id,
    Consent.customer_id,
    Order.customer_id,
    Checkout.customer_id,
    ProductView.customer_id,
    CouponRedemption.customer_id,
    Coupon.owner_customer_id,
)
# Counters keyed by customer: the absorbed customer's count is added to the survivor's.
SUMMED_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (CouponCustomerUse.customer_id,)


def lock_customers(session: Session, ids: Iterable[int]) -> list[int]:
    """Lock the customers that still exist, in primary-key order; their ids.

    FOR UPDATE (not NO KEY UPDATE) because one of them may be deleted: it also waits for
    every transaction that is inserting a row referencing them (those hold KEY SHARE), so
    what is read after this sees their rows. On SQLite BEGIN IMMEDIATE serialised writers.
    """
    return list(
        session.scalars(
            select(Customer.id)
            .where(Customer.id.in_(sorted(set(ids))))
            .order_by(Customer.id)
            .with_for_update()
        )
    )


def loyalty_holders(session: Session, ids: Iterable[int]) -> set[int]:
    """Of these customers, those enrolled or with any loyalty history (one round trip)."""
    wanted = sorted(set(ids))
    selects = [select(Customer.id).where(Customer.id.in_(wanted), Customer.is_member.is_(True))]
    selects += [select(column).where(column.in_(wanted)) for column in LOYALTY_COLUMNS]
    return set(session.scalars(union(*selects)))


def move_customer_rows(session: Session, from_id: int, to_id: int) -> dict[str, int]:
    """Give the survivor every commerce row of the absorbed customer; rows moved per table."""
    moved: dict[str, int] = {}
    for column in MOVED_COLUMNS:
        result = session.execute(
            update(column.class_).where(column == from_id).values({column.key: to_id})
        )
        moved[column.class_.__tablename__] = int(result.rowcount)  # type: ignore[attr-defined]
    moved[CouponCustomerUse.__tablename__] = _sum_coupon_uses(session, from_id, to_id)
    return moved


def _sum_coupon_uses(session: Session, from_id: int, to_id: int) -> int:
    rows = list(
        session.scalars(select(CouponCustomerUse).where(CouponCustomerUse.customer_id == from_id))
    )
    for row in rows:
        added = session.execute(
            update(CouponCustomerUse)
            .where(
                CouponCustomerUse.coupon_id == row.coupon_id,
                CouponCustomerUse.customer_id == to_id,
            )
            .values(uses=CouponCustomerUse.uses + row.uses)
        )
        if added.rowcount == 0:  # type: ignore[attr-defined]
            session.add(
                CouponCustomerUse(coupon_id=row.coupon_id, customer_id=to_id, uses=row.uses)
            )
        session.delete(row)
    session.flush()
    return len(rows)


def record_merge(session: Session, values: dict[str, Any]) -> bool:
    """Record a merge or candidate once per pair; False when the pair was recorded before."""
    inserted = insert_ignore(
        session,
        CustomerMerge.__table__,  # type: ignore[arg-type]
        values,
        conflict=["survivor_id", "absorbed_id"],
        returning=CustomerMerge.id,
    )
    return inserted is not None


def merged_into(session: Session, customer_id: int) -> int | None:
    """The customer this one was merged into, if it was."""
    return session.scalar(
        select(CustomerMerge.survivor_id).where(
            CustomerMerge.absorbed_id == customer_id, CustomerMerge.status == "merged"
        )
    )


def merges_of(session: Session, customer_id: int) -> list[CustomerMerge]:
    """Merges and candidates this customer is part of, oldest first."""
    return list(
        session.scalars(
            select(CustomerMerge)
            .where(
                (CustomerMerge.survivor_id == customer_id)
                | (CustomerMerge.absorbed_id == customer_id)
            )
            .order_by(CustomerMerge.id)
        )
    )
