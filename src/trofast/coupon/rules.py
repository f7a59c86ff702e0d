"""Pure: may this coupon be used on this cart, by this customer, now, and for how much?

The answer is `Applied` or one stable reason code. Reasons are checked in a fixed order so
a cart always gets the same one: whether the code is usable at all (unknown, window, limits)
comes before what the cart would have to change (currency, channel, categories, minimum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trofast.coupon import discounts
from trofast.coupon.discounts import Applied, Cart, CartLine

# Every reason a coupon can be refused, in the order they are checked. Public contract:
# docs/api.md lists them and shops map them to messages.
REASONS = (
    "unknown_or_invalid",
    "not_yet_valid",
    "expired",
    "already_used",
    "limit_reached",
    "customer_required",
    "customer_limit_reached",
    "currency_not_allowed",
    "channel_not_allowed",
    "category_not_allowed",
    "minimum_not_met",
    "product_not_in_cart",
)


@dataclass(frozen=True)
class Terms:
    """What a coupon row says, detached from the database."""

    kind: str
    discount: dict[str, Any]
    currency: str
    max_uses: int | None
    uses: int
    per_customer_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    min_order_minor: int | None
    channels: Sequence[str]
    categories: Sequence[str]
    owner_customer_id: int | None
    disabled: bool


def check(
    terms: Terms, cart: Cart, customer_id: int | None, at: datetime, customer_uses: int = 0
) -> Applied | str:
    unusable = availability(terms, customer_id, at, customer_uses)
    if unusable is not None:
        return unusable
    if cart.currency != terms.currency:
        return "currency_not_allowed"
    if terms.channels and cart.channel not in terms.channels:
        return "channel_not_allowed"
    eligible = eligible_lines(terms, cart.lines)
    if terms.categories and not eligible:
        return "category_not_allowed"
    if terms.min_order_minor is not None and cart.subtotal_minor < terms.min_order_minor:
        return "minimum_not_met"
    return discounts.apply(discounts.parse(terms.kind, terms.discount), cart, eligible)


def availability(
    terms: Terms, customer_id: int | None, at: datetime, customer_uses: int = 0
) -> str | None:
    """Why this customer cannot use the coupon now whatever the cart, or None."""
    # A disabled code and a code owned by someone else answer exactly like an unknown one:
    # any difference would tell a guesser that the code exists.
    if terms.disabled or (
        terms.owner_customer_id is not None and terms.owner_customer_id != customer_id
    ):
        return "unknown_or_invalid"
    if terms.valid_from is not None and at < terms.valid_from:
        return "not_yet_valid"
    if terms.valid_until is not None and at >= terms.valid_until:
        return "expired"
    if terms.max_uses is not None and terms.uses >= terms.max_uses:
        return "already_used" if terms.max_uses == 1 else "limit_reached"
    if terms.per_customer_limit is not None:
        if customer_id is None:
            return "customer_required"
        if customer_uses >= terms.per_customer_limit:
            return "customer_limit_reached"
    return None


def eligible_lines(terms: Terms, lines: Sequence[CartLine]) -> list[CartLine]:
    if not terms.categories:
        return list(lines)
    allowed = set(terms.categories)
    return [line for line in lines if line.category in allowed]
