"""All SQL of the coupon domain.

Counters move only through conditional UPDATEs checked by rowcount: the database decides
who gets the last use of a code, so there is no read-check-write to race. Every writer takes
its row locks in one order (redemption row, customer counter, coupon), so concurrent redeems
and releases of the same coupon cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_ignore
from trofast.models import Coupon, CouponCustomerUse, CouponRedemption, Customer, OrderLine


def insert_coupon(session: Session, values: dict[str, Any]) -> int | None:
    """The new coupon's id, or None when its code is taken."""
    new_id: int | None = insert_ignore(
        session,
        Coupon.__table__,  # type: ignore[arg-type]
        values,
        conflict=["code"],
        returning=Coupon.id,
    )
    return new_id


# Every read of a coupon re-reads over the identity map (`populate_existing`): the UPDATEs
# in this module bypass it, so a copy loaded earlier in the unit of work can be stale. A
# reward cancelled after its coupon was loaded (disabled by `disable_unused`) answered
# `expired` instead of `unknown_or_invalid` at checkout once past its validity, and a
# response could show the coupon still enabled. Nothing writes a coupon through the ORM, so
# no pending change can be overwritten.
_FRESH = {"populate_existing": True}


def get(session: Session, coupon_id: int) -> Coupon | None:
    return session.get(Coupon, coupon_id, populate_existing=True)


def by_code(session: Session, code: str) -> Coupon | None:
    stmt = select(Coupon).where(Coupon.code == code).execution_options(**_FRESH)
    return session.scalars(stmt).one_or_none()


def by_ids(session: Session, ids: Sequence[int]) -> list[Coupon]:
    stmt = select(Coupon).where(Coupon.id.in_(ids)).order_by(Coupon.id)
    return list(session.scalars(stmt.execution_options(**_FRESH)))


def search(
    session: Session,
    *,
    campaign: str | None,
    owner_customer_id: int | None,
    after_id: int,
    limit: int,
) -> list[Coupon]:
    stmt = _search(campaign is not None, owner_customer_id is not None)
    params = {"after_id": after_id, "campaign": campaign, "owner": owner_customer_id}
    return list(session.scalars(stmt, {**params, "limit": limit}))


@lru_cache(maxsize=4)
def _search(by_campaign: bool, by_owner: bool) -> Select[Coupon]:
    # Built once per shape: a member's coupons are read on every till lookup.
    stmt = select(Coupon).where(Coupon.id > bindparam("after_id"))
    if by_campaign:
        stmt = stmt.where(Coupon.campaign == bindparam("campaign"))
    if by_owner:
        stmt = stmt.where(Coupon.owner_customer_id == bindparam("owner"))
    return stmt.order_by(Coupon.id).limit(bindparam("limit")).execution_options(**_FRESH)


def disable(session: Session, coupon_id: int, now: datetime) -> None:
    session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.disabled_at.is_(None))
        .values(disabled_at=now)
        .execution_options(synchronize_session=False)
    )


def disable_unused(session: Session, coupon_id: int, now: datetime) -> bool:
    """Disable a coupon nobody has used; False (nothing changed) once it has a use.

    One conditional UPDATE: a checkout redeeming the code at the same moment either takes
    its use first (this returns False) or finds the code disabled.
    """
    result = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.uses == 0)
        .values(disabled_at=func.coalesce(Coupon.disabled_at, now))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def customer_exists(session: Session, customer_id: int) -> bool:
    return session.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None


def customer_uses(session: Session, coupon_id: int, customer_id: int) -> int:
    uses = session.scalar(
        select(CouponCustomerUse.uses).where(
            CouponCustomerUse.coupon_id == coupon_id, CouponCustomerUse.customer_id == customer_id
        )
    )
    return int(uses or 0)


def insert_redemption(session: Session, values: dict[str, Any]) -> int | None:
    """The new redemption's id, or None when this order already used this coupon."""
    new_id: int | None = insert_ignore(
        session,
        CouponRedemption.__table__,  # type: ignore[arg-type]
        values,
        conflict=["coupon_id", "order_source", "order_ref"],
        returning=CouponRedemption.id,
    )
    return new_id


def redemption(session: Session, coupon_id: int, source: str, ref: str) -> CouponRedemption | None:
    return session.scalars(
        select(CouponRedemption).where(
            CouponRedemption.coupon_id == coupon_id,
            CouponRedemption.order_source == source,
            CouponRedemption.order_ref == ref,
        )
    ).one_or_none()


def redemptions_of_order(session: Session, source: str, ref: str) -> list[CouponRedemption]:
    return list(
        session.scalars(
            select(CouponRedemption)
            .where(CouponRedemption.order_source == source, CouponRedemption.order_ref == ref)
            .order_by(CouponRedemption.id)
        )
    )


def link_order(session: Session, redemption_id: int, order_id: int) -> None:
    session.execute(
        update(CouponRedemption)
        .where(CouponRedemption.id == redemption_id, CouponRedemption.order_id.is_(None))
        .values(order_id=order_id)
        .execution_options(synchronize_session=False)
    )


def take_customer_use(session: Session, coupon_id: int, customer_id: int, limit: int) -> bool:
    """One more use for this customer, unless they already hold `limit`."""
    # The counter row must exist before it can be updated; two first uses racing to create it
    # meet on the primary key, and the loser waits for the winner, then finds the row.
    insert_ignore(
        session,
        CouponCustomerUse.__table__,  # type: ignore[arg-type]
        {"coupon_id": coupon_id, "customer_id": customer_id, "uses": 0},
        conflict=["coupon_id", "customer_id"],
    )
    result = session.execute(
        update(CouponCustomerUse)
        .where(
            CouponCustomerUse.coupon_id == coupon_id,
            CouponCustomerUse.customer_id == customer_id,
            CouponCustomerUse.uses < limit,
        )
        .values(uses=CouponCustomerUse.uses + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def give_back_customer_use(session: Session, coupon_id: int, customer_id: int) -> None:
    session.execute(
        update(CouponCustomerUse)
        .where(
            CouponCustomerUse.coupon_id == coupon_id,
            CouponCustomerUse.customer_id == customer_id,
            CouponCustomerUse.uses > 0,
        )
        .values(uses=CouponCustomerUse.uses - 1)
        .execution_options(synchronize_session=False)
    )


def take_use(session: Session, coupon_id: int) -> int | None:
    """One more use of the coupon, unless all `max_uses` are taken (NULL: unlimited).

    Returns the coupon's uses now, or None when no use was left. On PostgreSQL a second
    writer blocks on the row lock, then re-evaluates the WHERE on the committed row: of 100
    checkouts racing for the last use exactly one gets a row back.
    """
    uses: int | None = session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.disabled_at.is_(None),
            (Coupon.max_uses.is_(None)) | (Coupon.uses < Coupon.max_uses),
        )
        .values(uses=Coupon.uses + 1)
        .returning(Coupon.uses)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return uses


def give_back_use(session: Session, coupon_id: int) -> None:
    session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.uses > 0)
        .values(uses=Coupon.uses - 1)
        .execution_options(synchronize_session=False)
    )


def mark_released(session: Session, redemption_id: int, now: datetime) -> bool:
    """Release an active redemption; False if it was released already (by a racing call)."""
    result = session.execute(
        update(CouponRedemption)
        .where(CouponRedemption.id == redemption_id, CouponRedemption.status == "active")
        .values(status="released", released_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def order_lines(session: Session, order_id: int) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
        )
    )
