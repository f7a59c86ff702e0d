"""All SQL of the rewards domain.

Stock and limits move only through conditional UPDATEs checked by rowcount, so two members
racing for the last unit cannot both get it. Lock order, the same in every writer so none can
deadlock: coupon row → redemption row → the member's ledger accounts → the member's use
counter → the reward's stock row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.orm import Session

from trofast.kit.sql import insert_ignore
from trofast.models import PointsPayment, RewardMemberUse, RewardRedemption, RewardStock


def claim_redemption(session: Session, values: dict[str, Any]) -> int | None:
    """The new redemption's id, or None when the member used this idempotency key before."""
    new_id: int | None = insert_ignore(
        session,
        RewardRedemption.__table__,  # type: ignore[arg-type]
        values,
        conflict=["customer_id", "idempotency_key"],
        returning=RewardRedemption.id,
    )
    return new_id


def redemption_by_key(session: Session, customer_id: int, key: str) -> RewardRedemption | None:
    return session.scalars(
        select(RewardRedemption).where(
            RewardRedemption.customer_id == customer_id, RewardRedemption.idempotency_key == key
        )
    ).one_or_none()


def redemption(session: Session, redemption_id: int) -> RewardRedemption | None:
    return session.get(RewardRedemption, redemption_id)


def redemption_of_coupon(session: Session, coupon_id: int) -> RewardRedemption | None:
    return session.scalars(
        select(RewardRedemption).where(RewardRedemption.coupon_id == coupon_id)
    ).one_or_none()


def redemptions_of(
    session: Session, customer_id: int, before_id: int | None, limit: int
) -> list[RewardRedemption]:
    stmt = select(RewardRedemption).where(RewardRedemption.customer_id == customer_id)
    if before_id is not None:
        stmt = stmt.where(RewardRedemption.id < before_id)
    return list(session.scalars(stmt.order_by(RewardRedemption.id.desc()).limit(limit)))


def take_member_use(session: Session, reward_id: str, customer_id: int, limit: int | None) -> bool:
    """One more active redemption for the member, unless they hold `limit` (None: no limit).

    Counted even without a limit, so a limit added by a later programme version counts the
    redemptions made before it.
    """
    insert_ignore(
        session,
        RewardMemberUse.__table__,  # type: ignore[arg-type]
        {"reward_id": reward_id, "customer_id": customer_id, "uses": 0},
        conflict=["reward_id", "customer_id"],
    )
    stmt = update(RewardMemberUse).where(
        RewardMemberUse.reward_id == reward_id, RewardMemberUse.customer_id == customer_id
    )
    if limit is not None:
        stmt = stmt.where(RewardMemberUse.uses < limit)
    result = session.execute(
        stmt.values(uses=RewardMemberUse.uses + 1).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def take_stock(session: Session, reward_id: str, stock: int | None, total: int | None) -> bool:
    """One unit of the reward, unless `stock` units are out or `total` were ever redeemed.

    On PostgreSQL a second writer blocks on the row lock and re-evaluates the WHERE on the
    committed row: of many members racing for the last unit exactly one sees rowcount 1.
    """
    insert_ignore(
        session,
        RewardStock.__table__,  # type: ignore[arg-type]
        {"reward_id": reward_id, "taken": 0, "redeemed": 0},
        conflict=["reward_id"],
    )
    stmt = update(RewardStock).where(RewardStock.reward_id == reward_id)
    if stock is not None:
        stmt = stmt.where(RewardStock.taken < stock)
    if total is not None:
        stmt = stmt.where(RewardStock.redeemed < total)
    result = session.execute(
        stmt.values(
            taken=RewardStock.taken + 1, redeemed=RewardStock.redeemed + 1
        ).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def give_back(session: Session, reward_id: str, customer_id: int) -> None:
    """A cancelled redemption: its unit goes back in stock and its place to the member."""
    session.execute(
        update(RewardMemberUse)
        .where(
            RewardMemberUse.reward_id == reward_id,
            RewardMemberUse.customer_id == customer_id,
            RewardMemberUse.uses > 0,
        )
        .values(uses=RewardMemberUse.uses - 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(RewardStock)
        .where(RewardStock.reward_id == reward_id, RewardStock.taken > 0)
        .values(taken=RewardStock.taken - 1)
        .execution_options(synchronize_session=False)
    )


# Both read for every list of offers (the till asks on each lookup): built once.
_STOCK = select(RewardStock.reward_id, RewardStock.taken, RewardStock.redeemed).where(
    RewardStock.reward_id.in_(bindparam("ids", expanding=True))
)
_MEMBER_USES = select(RewardMemberUse.reward_id, RewardMemberUse.uses).where(
    RewardMemberUse.customer_id == bindparam("customer_id"),
    RewardMemberUse.reward_id.in_(bindparam("ids", expanding=True)),
)


def stock(session: Session, reward_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(taken, redeemed) per reward id that has a counter."""
    rows = session.execute(_STOCK, {"ids": list(reward_ids)})
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def member_uses(session: Session, customer_id: int, reward_ids: Sequence[str]) -> dict[str, int]:
    rows = session.execute(_MEMBER_USES, {"customer_id": customer_id, "ids": list(reward_ids)})
    return {row[0]: int(row[1]) for row in rows}


def mark_cancelled(session: Session, redemption_id: int, reason: str, now: datetime) -> bool:
    """Cancel an active redemption not yet fulfilled; False if it is not (any more)."""
    result = session.execute(
        update(RewardRedemption)
        .where(
            RewardRedemption.id == redemption_id,
            RewardRedemption.status == "active",
            (RewardRedemption.fulfilment.is_(None)) | (RewardRedemption.fulfilment == "requested"),
        )
        .values(
            status="cancelled",
            cancelled_at=now,
            cancel_reason=reason,
            # A custom reward's fulfilment ends with the redemption.
            fulfilment=case((RewardRedemption.fulfilment.is_(None), None), else_="cancelled"),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_fulfilled(session: Session, redemption_id: int, now: datetime) -> bool:
    result = session.execute(
        update(RewardRedemption)
        .where(
            RewardRedemption.id == redemption_id,
            RewardRedemption.status == "active",
            RewardRedemption.fulfilment == "requested",
        )
        .values(fulfilment="fulfilled", fulfilled_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def claim_payment(session: Session, values: dict[str, Any]) -> int | None:
    """The new points payment's id, or None when the order paid with points before."""
    new_id: int | None = insert_ignore(
        session,
        PointsPayment.__table__,  # type: ignore[arg-type]
        values,
        conflict=["order_source", "order_ref"],
        returning=PointsPayment.id,
    )
    return new_id


def payment_of_order(session: Session, source: str, ref: str) -> PointsPayment | None:
    return session.scalars(
        select(PointsPayment).where(
            PointsPayment.order_source == source, PointsPayment.order_ref == ref
        )
    ).one_or_none()


def payment(session: Session, payment_id: int) -> PointsPayment | None:
    return session.get(PointsPayment, payment_id)


def mark_payment_released(session: Session, payment_id: int, now: datetime) -> bool:
    result = session.execute(
        update(PointsPayment)
        .where(PointsPayment.id == payment_id, PointsPayment.status == "active")
        .values(status="released", released_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
