"""Use cases on coupons: issue, look up, validate, redeem and release. Services only flush.

Redeeming is idempotent by order: the same (coupon, order) again returns the first
redemption. The limits are enforced by conditional UPDATEs in `repository`, never by reading
a count and then writing, so concurrent checkouts cannot oversell a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from trofast.coupon import codes, origins, repository, rules
from trofast.coupon.discounts import Applied, Cart
from trofast.coupon.errors import (
    CodeTaken,
    CouponNotFound,
    CustomerNotFound,
    EmptyValidityWindow,
    RedemptionNotFound,
    RedemptionReleased,
    rejection,
)
from trofast.coupon.schemas import BatchIn, CouponIn, TermsIn
from trofast.kit.time import utc_now
from trofast.models import Coupon, CouponRedemption

# A collision of two 60-bit codes is a once-in-a-lifetime event; a few retries make it a
# non-event without a loop that could spin.
_GENERATE_ATTEMPTS = 5


@dataclass(frozen=True)
class Checked:
    """A code looked up and checked: `coupon` is None when the code is unknown."""

    coupon: Coupon | None
    outcome: Applied | str


@dataclass(frozen=True)
class Redeemed:
    redemption: CouponRedemption
    coupon: Coupon
    replayed: bool


def _terms(coupon: Coupon) -> rules.Terms:
    return rules.Terms(
        kind=coupon.kind,
        discount=coupon.discount,
        currency=coupon.currency,
        max_uses=coupon.max_uses,
        uses=coupon.uses,
        per_customer_limit=coupon.per_customer_limit,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        min_order_minor=coupon.min_order_minor,
        channels=coupon.channels,
        categories=coupon.categories,
        owner_customer_id=coupon.owner_customer_id,
        disabled=coupon.disabled_at is not None,
    )


def _row(
    spec: TermsIn,
    code: str,
    display: str,
    *,
    currency: str,
    owner: int | None,
    api_key_id: int | None,
    origin: str,
    origin_ref: str | None,
    ledger_transaction_id: int | None,
    now: datetime,
) -> dict[str, object]:
    discount = spec.discount.model_dump(exclude={"kind"})
    return {
        "code": code,
        "display": display,
        "campaign": spec.campaign,
        "kind": spec.discount.kind,
        "discount": discount,
        "currency": currency,
        "max_uses": spec.max_uses,
        "uses": 0,
        "per_customer_limit": spec.per_customer_limit,
        "valid_from": spec.valid_from,
        "valid_until": spec.valid_until,
        "min_order_minor": spec.min_order_minor,
        "channels": list(spec.channels),
        "categories": list(spec.categories),
        "owner_customer_id": owner,
        "origin": origin,
        "origin_ref": origin_ref,
        "ledger_transaction_id": ledger_transaction_id,
        "note": spec.note,
        "created_by_key_id": api_key_id,
        "created_at": now,
    }


def _check_terms(session: Session, spec: TermsIn, owner: int | None) -> None:
    if spec.valid_from and spec.valid_until and spec.valid_until <= spec.valid_from:
        raise EmptyValidityWindow("valid_until must be after valid_from")
    if owner is not None and not repository.customer_exists(session, owner):
        raise CustomerNotFound(f"no customer {owner}")


def create(
    session: Session,
    spec: CouponIn,
    *,
    currency: str,
    api_key_id: int | None = None,
    origin: str = "manual",
    origin_ref: str | None = None,
    ledger_transaction_id: int | None = None,
) -> Coupon:
    """Issue one coupon. Other domains (rewards, referrals) call this with their origin."""
    known = origins.ORIGINS.get(origin)
    if known is None:
        raise ValueError(f"unknown coupon origin {origin!r}")
    if known.needs_reference and (origin_ref is None or ledger_transaction_id is None):
        raise ValueError(f"a {origin} coupon must name its redemption and ledger transaction")
    _check_terms(session, spec, spec.owner_customer_id)
    now = utc_now()
    for _ in range(_GENERATE_ATTEMPTS):
        if spec.code is not None:
            prefix = codes.normalise(spec.prefix)
            code = prefix + codes.normalise(spec.code)
            display = f"{prefix}-{spec.code.upper()}" if prefix else spec.code.upper()
        else:
            code, display = codes.generate(spec.prefix)
        values = _row(
            spec,
            code,
            display,
            currency=currency,
            owner=spec.owner_customer_id,
            api_key_id=api_key_id,
            origin=origin,
            origin_ref=origin_ref,
            ledger_transaction_id=ledger_transaction_id,
            now=now,
        )
        new_id = repository.insert_coupon(session, values)
        if new_id is not None:
            coupon = repository.get(session, new_id)
            assert coupon is not None
            return coupon
        if spec.code is not None:
            raise CodeTaken(f"the code {display} exists already")
    raise CodeTaken("could not generate a free code; try again")


def create_batch(
    session: Session, spec: BatchIn, *, currency: str, api_key_id: int | None
) -> list[Coupon]:
    _check_terms(session, spec, None)
    one = CouponIn(**spec.model_dump(exclude={"count"}))
    return [
        create(session, one, currency=currency, api_key_id=api_key_id) for _ in range(spec.count)
    ]


def get(session: Session, coupon_id: int) -> Coupon:
    coupon = repository.get(session, coupon_id)
    if coupon is None:
        raise CouponNotFound(f"no coupon {coupon_id}")
    return coupon


def search(
    session: Session,
    *,
    campaign: str | None = None,
    owner_customer_id: int | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[Coupon]:
    return repository.search(
        session,
        campaign=campaign,
        owner_customer_id=owner_customer_id,
        after_id=after_id,
        limit=limit,
    )


def disable(session: Session, coupon_id: int) -> Coupon:
    coupon = get(session, coupon_id)
    repository.disable(session, coupon_id, utc_now())
    session.refresh(coupon)
    return coupon


def disable_unused(session: Session, coupon_id: int) -> bool:
    """Disable the coupon if it has never been used (or its uses were all released)."""
    return repository.disable_unused(session, coupon_id, utc_now())


def lookup(session: Session, text: str) -> Coupon | None:
    code = codes.normalise(text)
    return repository.by_code(session, code) if codes.is_well_formed(code) else None


def check(
    session: Session, text: str, cart: Cart, customer_id: int | None, at: datetime
) -> Checked:
    """What this code gives this cart now, or the reason it does not. Writes nothing."""
    coupon = lookup(session, text)
    if coupon is None:
        return Checked(None, "unknown_or_invalid")
    return Checked(coupon, _evaluate(session, coupon, cart, customer_id, at))


def _evaluate(
    session: Session, coupon: Coupon, cart: Cart, customer_id: int | None, at: datetime
) -> Applied | str:
    used = 0
    if coupon.per_customer_limit is not None and customer_id is not None:
        used = repository.customer_uses(session, coupon.id, customer_id)
    return rules.check(_terms(coupon), cart, customer_id, at, used)


def redeem(
    session: Session,
    text: str,
    cart: Cart,
    *,
    customer_id: int | None,
    order_source: str,
    order_ref: str,
    at: datetime | None = None,
    order_id: int | None = None,
    api_key_id: int | None = None,
) -> Redeemed:
    """Bind the code to the order, taking one use; the same order again is a replay."""
    at = at or utc_now()
    coupon = lookup(session, text)
    if coupon is None:
        raise rejection("unknown_or_invalid")
    # The order's own earlier use may be what now fills the limit: look for it first.
    existing = repository.redemption(session, coupon.id, order_source, order_ref)
    if existing is not None:
        return _replay(existing, coupon)
    outcome = _evaluate(session, coupon, cart, customer_id, at)
    if isinstance(outcome, str):
        raise rejection(outcome)
    if customer_id is not None and not repository.customer_exists(session, customer_id):
        raise CustomerNotFound(f"no customer {customer_id}")
    new_id = repository.insert_redemption(
        session,
        {
            "coupon_id": coupon.id,
            "order_source": order_source,
            "order_ref": order_ref,
            "order_id": order_id,
            "customer_id": customer_id,
            "kind": outcome.kind,
            "discount_minor": outcome.amount_minor,
            "currency": coupon.currency,
            "status": "active",
            "api_key_id": api_key_id,
            "redeemed_at": utc_now(),
        },
    )
    if new_id is None:
        # A concurrent request for the same order committed first: its redemption stands.
        won = repository.redemption(session, coupon.id, order_source, order_ref)
        assert won is not None
        return _replay(won, coupon)
    # Read before the use is taken: from the UPDATE of the coupon row to the commit, every
    # other checkout of this code waits, so nothing else runs in between.
    row = session.get(CouponRedemption, new_id)
    assert row is not None
    if coupon.per_customer_limit is not None:
        assert customer_id is not None  # rules.check refuses with customer_required
        if not repository.take_customer_use(
            session, coupon.id, customer_id, coupon.per_customer_limit
        ):
            raise rejection("customer_limit_reached")
    uses = repository.take_use(session, coupon.id)
    if uses is None:
        session.refresh(coupon)
        if coupon.disabled_at is not None:
            raise rejection("unknown_or_invalid")
        raise rejection("already_used" if coupon.max_uses == 1 else "limit_reached")
    set_committed_value(coupon, "uses", uses)
    return Redeemed(row, coupon, replayed=False)


def _replay(existing: CouponRedemption, coupon: Coupon) -> Redeemed:
    if existing.status == "released":
        raise RedemptionReleased("this order's use of the code was released when it was cancelled")
    return Redeemed(existing, coupon, replayed=True)


def release(
    session: Session, order_source: str, order_ref: str, text: str | None = None
) -> list[tuple[CouponRedemption, Coupon]]:
    """Give back the uses an order took (it was cancelled). Releasing twice changes nothing."""
    rows = repository.redemptions_of_order(session, order_source, order_ref)
    coupons = {c.id: c for c in repository.by_ids(session, sorted({r.coupon_id for r in rows}))}
    if text is not None:
        wanted = codes.normalise(text)
        rows = [r for r in rows if coupons[r.coupon_id].code == wanted]
    if not rows:
        raise RedemptionNotFound("this order has redeemed no such code")
    now = utc_now()
    released: list[tuple[CouponRedemption, Coupon]] = []
    for row in rows:
        coupon = coupons[row.coupon_id]
        if repository.mark_released(session, row.id, now):
            if coupon.per_customer_limit is not None and row.customer_id is not None:
                repository.give_back_customer_use(session, coupon.id, row.customer_id)
            repository.give_back_use(session, coupon.id)
            session.refresh(row)
            session.refresh(coupon)
            origins.released(session, coupon, row)
        else:
            session.refresh(row)
        released.append((row, coupon))
    return released


def member_coupons(
    session: Session, customer_id: int, *, after_id: int = 0, limit: int = 100, known: bool = False
) -> list[tuple[Coupon, bool]]:
    """The coupons issued to a member, each with whether it can be used now. `known`: the
    caller has read the customer already (the till's lookup), so no probe for it."""
    if not known and not repository.customer_exists(session, customer_id):
        raise CustomerNotFound(f"no customer {customer_id}")
    now = utc_now()
    found = repository.search(
        session, campaign=None, owner_customer_id=customer_id, after_id=after_id, limit=limit
    )
    result = []
    for coupon in found:
        used = 0
        if coupon.per_customer_limit is not None:
            used = repository.customer_uses(session, coupon.id, customer_id)
        reason = rules.availability(_terms(coupon), customer_id, now, used)
        result.append((coupon, reason is None))
    return result
