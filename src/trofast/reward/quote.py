"""Points as payment: how many points an order may use and what they are worth. Pure.

Exact in integers: the point value is a decimal (`value_minor`, up to 4 places) taken as a
fraction, and every amount is rounded down once, in the shop's favour, so the discount never
exceeds `points × value_minor` nor the order's share cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from trofast.program.catalogue import PointsPayment

REASONS = ("below_minimum", "above_maximum", "above_order_share", "insufficient_points")


@dataclass(frozen=True, slots=True)
class Quote:
    max_points: int  # the most points this order can use (0: none)
    points: int  # the points asked for, or `max_points` when none were asked for
    discount_minor: int


def discount_of(points: int, value_minor: Fraction) -> int:
    """What `points` are worth, in whole minor units, rounded down."""
    return int(points * value_minor)  # int() of a non-negative Fraction rounds down


def max_points(terms: PointsPayment, order_total_minor: int, balance: int | None) -> int:
    """The most points the order may use: balance, `max_points` and the share cap."""
    value = Fraction(terms.value_minor)
    cap_minor = order_total_minor * terms.max_share_percent // 100
    # The largest p with p × value ≤ cap, in integers: p = ⌊cap / value⌋.
    by_share = int(Fraction(cap_minor) / value)
    limits = [by_share]
    if terms.max_points is not None:
        limits.append(terms.max_points)
    if balance is not None:
        limits.append(max(balance, 0))
    return min(limits)


def quote(
    terms: PointsPayment, order_total_minor: int, balance: int | None, requested: int | None
) -> Quote | str:
    """The points this order would use and their discount, or the reason it cannot."""
    value = Fraction(terms.value_minor)
    most = max_points(terms, order_total_minor, balance)
    points = most if requested is None else requested
    if requested is not None:
        if terms.max_points is not None and requested > terms.max_points:
            return "above_maximum"
        if requested > max_points(terms, order_total_minor, None):
            return "above_order_share"
        if balance is not None and requested > balance:
            return "insufficient_points"
    if points < terms.min_points or discount_of(points, value) == 0:
        return "below_minimum"
    return Quote(most, points, discount_of(points, value))
