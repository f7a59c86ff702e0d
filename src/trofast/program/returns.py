"""Pure arithmetic of returns: how many of an earning's points should stand reversed.

An earning remembers the points it gave each order line. A refund with lines returns a
share of each line (quantity refunded / quantity bought); a refund without lines (an
amount only) returns that share of the order's merchandise on every line. Shares add up
and are capped at the whole line; the total is rounded down once, on the cumulative
figure, so successive partial refunds never reverse more than their share and a full
return always reverses everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction


def reversal_target(
    line_points: Mapping[int, int],
    refunded_quantity: Mapping[int, int],
    bought_quantity: Mapping[int, int],
    amount_share: Fraction,
    *,
    cancelled: bool = False,
) -> int:
    """Points of one earning that should stand reversed, given the refunds so far."""
    total = sum(line_points.values())
    if cancelled:
        return total
    reversed_exact = Fraction(0)
    for line_id, points in line_points.items():
        bought = bought_quantity.get(line_id, 0)
        share = amount_share
        if bought > 0:
            share += Fraction(refunded_quantity.get(line_id, 0), bought)
        reversed_exact += points * min(share, Fraction(1))
    return min(total, int(reversed_exact))


def amount_share(unlined_refunds: int, merchandise: int) -> Fraction:
    """The share of the order that refunds without lines gave back (0..1)."""
    if unlined_refunds <= 0 or merchandise <= 0:
        return Fraction(0)
    return min(Fraction(unlined_refunds, merchandise), Fraction(1))
