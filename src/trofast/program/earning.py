"""Pure evaluation of the order earning rules: order facts in, awards out.

Each award names its rule and carries its points per order line, so a refund can reverse
exactly what its lines earned. Rules are evaluated in exact fractions; each rule's total is
rounded down once, and split over lines by largest remainder so the lines sum to it.

Multipliers (by product, campaign and tier) add `base × (factor − 1)` each, where `base` is
what the spend rules give the line: they stack by addition, never by product, so a
merchant can read each rule's share of the points directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from trofast.kit.money import currency_exponent
from trofast.program.document import (
    CampaignRule,
    FirstOrderRule,
    Level,
    MultiplierRule,
    Programme,
    RuleBase,
    SpendRule,
    SustainableRule,
)

LineShares = dict[int, Fraction]


@dataclass(frozen=True, slots=True)
class LineFacts:
    """One order line as the rules see it; `value` is its net merchandise value."""

    line_id: int
    quantity: int
    value: int  # minor units: after discounts, without tax (when included) and gift cards
    sku: str | None = None
    category: str | None = None
    brand: str | None = None
    sustainable: bool = False


@dataclass(frozen=True, slots=True)
class OrderFacts:
    currency: str
    channel: str
    store: str | None
    placed_at: datetime
    lines: Sequence[LineFacts]
    first_order: bool = False
    tier: Level | None = None


@dataclass(frozen=True, slots=True)
class Award:
    rule: str
    kind: str
    points: int
    lines: dict[int, int] = field(default_factory=dict)


def net_line_values(
    lines: Sequence[dict[str, Any]], order_discount: int, *, prices_include_tax: bool
) -> dict[int, int]:
    """Net merchandise value per line, in minor units.

    `lines` carry `line_id`, `total` (quantity × unit price − line discount), `tax` and
    `gift_card`. The order-level discount (beyond line discounts) is spread over the
    merchandise lines in proportion to their totals. Gift cards are money, not
    merchandise, so they earn nothing. Values never go below zero.
    """
    merch = {
        line["line_id"]: max(0, line["total"] - (line["tax"] if prices_include_tax else 0))
        for line in lines
        if not line["gift_card"]
    }
    values = {line["line_id"]: 0 for line in lines}
    total = sum(merch.values())
    spread = split(min(max(order_discount, 0), total), merch)
    for line_id, value in merch.items():
        values[line_id] = value - spread.get(line_id, 0)
    return values


def split(total: int, weights: dict[int, int]) -> dict[int, int]:
    """`total` over keys in proportion to `weights`, by largest remainder."""
    weight = sum(weights.values())
    if total == 0 or weight == 0:
        return dict.fromkeys(weights, 0)
    return _largest_remainder(total, {k: Fraction(total * w, weight) for k, w in weights.items()})


def evaluate(programme: Programme, order: OrderFacts) -> list[Award]:
    """The awards an order earns under `programme`, in rule order, zero awards left out."""
    base: LineShares = dict.fromkeys((line.line_id for line in order.lines), Fraction(0))
    awards: list[Award] = []
    for rule in programme.earning:
        handler = ORDER_RULES.get(rule.kind)
        if handler is None or not _in_scope(rule, order):
            continue
        shares = handler(rule, order, base)
        if rule.kind == "spend":
            for line_id, share in shares.items():
                base[line_id] += share
        awards += _award(rule.id, rule.kind, shares)
    if order.tier is not None and order.tier.multiplier != 1:
        extra = _fraction(order.tier.multiplier) - 1
        shares = {line_id: share * extra for line_id, share in base.items()}
        awards += _award(f"tier:{order.tier.id}", "tier_multiplier", shares)
    return awards


def _award(rule: str, kind: str, shares: LineShares) -> list[Award]:
    points = int(sum(shares.values(), Fraction(0)))  # floor: never give more than earned
    if points <= 0:
        return []
    return [Award(rule, kind, points, _largest_remainder(points, shares))]


def _largest_remainder(total: int, shares: LineShares) -> dict[int, int]:
    floors = {k: int(v) for k, v in shares.items()}
    left = total - sum(floors.values())
    # Ties broken by line id so the same order always splits the same way.
    by_remainder = sorted(shares, key=lambda k: (-(shares[k] - floors[k]), k))
    for k in by_remainder[:left]:
        floors[k] += 1
    return {k: v for k, v in floors.items() if v}


def _in_scope(rule: RuleBase, order: OrderFacts) -> bool:
    if rule.channels is not None and order.channel not in rule.channels:
        return False
    return rule.stores is None or (order.store is not None and order.store in rule.stores)


def _fraction(value: Decimal) -> Fraction:
    return Fraction(value)


def _spend(rule: SpendRule, order: OrderFacts, _base: LineShares) -> LineShares:
    rate = rule.rates.get(order.currency)
    if rate is None:
        return {}
    per_minor = _fraction(rate) / 10 ** currency_exponent(order.currency)
    return {line.line_id: line.value * per_minor for line in order.lines}


def _multiplier(rule: MultiplierRule, order: OrderFacts, base: LineShares) -> LineShares:
    extra = _fraction(rule.factor) - 1
    return {
        line.line_id: base[line.line_id] * extra
        for line in order.lines
        if (line.category is not None and line.category in rule.categories)
        or (line.sku is not None and line.sku in rule.skus)
        or (line.brand is not None and line.brand in rule.brands)
    }


def _campaign(rule: CampaignRule, order: OrderFacts, base: LineShares) -> LineShares:
    if not rule.starts_at <= order.placed_at < rule.ends_at:
        return {}
    extra = _fraction(rule.factor) - 1
    return {
        line.line_id: base[line.line_id] * extra
        for line in order.lines
        if not rule.categories or line.category in rule.categories
    }


def _first_order(rule: FirstOrderRule, order: OrderFacts, _base: LineShares) -> LineShares:
    if not order.first_order:
        return {}
    # Spread over the lines by value, so returning part of the order takes back that part.
    weights = {line.line_id: line.value for line in order.lines}
    if sum(weights.values()) == 0:
        return {}
    return {k: Fraction(v) for k, v in split(rule.points, weights).items()}


def _sustainable(rule: SustainableRule, order: OrderFacts, _base: LineShares) -> LineShares:
    return {
        line.line_id: Fraction(rule.points * line.quantity)
        for line in order.lines
        if line.sustainable and line.value > 0
    }


OrderRule = Callable[[Any, OrderFacts, LineShares], LineShares]

# The order rule kinds; `action` and `birthday` are awarded by the engine outside orders.
ORDER_RULES: dict[str, OrderRule] = {
    "spend": _spend,
    "multiplier": _multiplier,
    "campaign": _campaign,
    "first_order": _first_order,
    "sustainable_product": _sustainable,
}
