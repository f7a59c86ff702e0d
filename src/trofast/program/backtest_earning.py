"""The order earning rules of `earning.evaluate`, vectorised over a whole history.

`evaluate` sums each rule's exact per-line fractions over the order and floors once. Within
one order every rule's per-line factor is the same for all lines it applies to, so a rule's
total is `floor(c × X)`: `c` an exact fraction that depends only on the order's currency,
channel and store (and the rules before it, for multipliers), and `X` an integer sum over
the order's lines (its value, or the value of the lines a multiplier matches). The fractions
are computed once per distinct (currency, channel, store) in Python `Fraction`s; the products
are taken in 128-bit integers by Polars. The tier multiplier depends on the member's tier at
the time of the order, which only the sequential tier pass knows: this module gives, for each
level with a multiplier, the points the order would earn at that level.

tests/program/test_backtest_property.py checks order by order that the result equals
`evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from fractions import Fraction
from typing import Any

import polars as pl

from trofast.kit.money import currency_exponent
from trofast.program.backtest_history import UTC_US, BacktestError, History
from trofast.program.document import Programme, RuleBase
from trofast.program.earning import ORDER_RULES

_LIMIT_BITS = 126  # products must stay inside a signed 128-bit integer


@dataclass(frozen=True)
class RuleColumn:
    rule: str  # the rule id, or `tier:<level>` as `evaluate` names tier awards
    kind: str
    column: str


@dataclass(frozen=True)
class OrderPoints:
    """Per member order: `order`, `member`, `paid_at`, `value` (Σ line values), one Int64
    column per order rule (`rules`) and one per tier level with a multiplier (`tiers`)."""

    frame: pl.DataFrame
    rules: list[RuleColumn]
    tiers: dict[str, RuleColumn]  # level id → its tier-multiplier column


def order_points(programme: Programme, history: History) -> OrderPoints:
    """Points of every rule for every order of a member (orders without a member earn none)."""
    rules = [r for r in programme.earning if r.kind in ORDER_RULES]
    columns = [RuleColumn(r.id, r.kind, f"rule_{i}") for i, r in enumerate(rules)]
    levels = [] if programme.tiers is None else programme.tiers.levels
    tiers = {
        level.id: RuleColumn(f"tier:{level.id}", "tier_multiplier", f"tier_{i}")
        for i, level in enumerate(levels)
        if level.multiplier != 1
    }
    orders = history.orders.filter(pl.col("member").is_not_null())
    sums = _line_sums(rules, history.lines)
    frame = orders.join(sums, on="order", how="left").with_columns(
        pl.exclude(orders.columns).fill_null(0)
    )
    # As in the engine: the order that earned first (paid first), and of orders paid at the
    # same moment the one placed first, then the one recorded first (date-only histories), so
    # a member's first day gives one bonus, not several.
    earliest = pl.col("order").sort_by(["paid_at", "placed_at", "order"]).first().over("member")
    first = pl.col("order") == earliest
    frame = frame.with_columns(first.alias("_first"))
    coefficients, bits = _coefficients(programme, rules, tiers, frame)
    frame = frame.join(
        coefficients, on=["currency", "channel", "store"], how="left", nulls_equal=True
    )

    points: list[pl.Expr] = []
    for rule, column in zip(rules, columns, strict=True):
        points.append(_rule_points(rule, column.column).alias(column.column))
    for column in tiers.values():
        points.append(_scaled("value", column.column).alias(column.column))
    _check_range(frame, bits)
    keep = ["order", "member", "paid_at", "currency", "value", "spend"]
    frame = frame.select(*keep, *points)
    return OrderPoints(frame=frame, rules=columns, tiers=tiers)


def _line_sums(rules: list[Any], lines: pl.DataFrame) -> pl.DataFrame:
    """Per order: its value, the value each multiplier or campaign matches, sustainable units."""
    sums: list[pl.Expr] = [pl.col("value").sum().alias("value")]
    value = pl.col("value")
    for i, rule in enumerate(rules):
        if rule.kind == "multiplier":
            match = (
                pl.col("category").is_in(rule.categories).fill_null(False)
                | pl.col("sku").is_in(rule.skus).fill_null(False)
                | pl.col("brand").is_in(rule.brands).fill_null(False)
            )
            sums.append(pl.when(match).then(value).otherwise(0).sum().alias(f"x_{i}"))
        elif rule.kind == "campaign" and rule.categories:
            match = pl.col("category").is_in(rule.categories).fill_null(False)
            sums.append(pl.when(match).then(value).otherwise(0).sum().alias(f"x_{i}"))
    green = pl.col("sustainable") & (value > 0)
    units = pl.when(green).then(pl.col("quantity")).otherwise(0).sum()
    sums.append(units.alias("sustainable_units"))
    return lines.group_by("order").agg(sums)


def _rule_points(rule: Any, column: str) -> pl.Expr:
    if rule.kind == "spend":
        return _scaled("value", column)
    if rule.kind == "multiplier":
        return _scaled(f"x_{column.removeprefix('rule_')}", column)
    if rule.kind == "campaign":
        matched = f"x_{column.removeprefix('rule_')}" if rule.categories else "value"
        placed = pl.col("placed_at")
        starts, ends = (pl.lit(at.astimezone(UTC), UTC_US) for at in (rule.starts_at, rule.ends_at))
        window = (placed >= starts) & (placed < ends)
        return pl.when(window).then(_scaled(matched, column)).otherwise(0)
    in_scope = pl.col(f"{column}_num") > 0
    if rule.kind == "first_order":
        earns = in_scope & pl.col("_first") & (pl.col("value") > 0)
        return pl.when(earns).then(pl.lit(rule.points, pl.Int64)).otherwise(0)
    if rule.kind == "sustainable_product":
        units = pl.col("sustainable_units")
        return pl.when(in_scope).then(units * rule.points).otherwise(0).cast(pl.Int64)
    raise AssertionError(f"order rule kind {rule.kind!r} has no vectorised form")


def _scaled(amount: str, column: str) -> pl.Expr:
    """max(0, floor(amount × num / den)): `evaluate` drops a rule whose floored total is ≤ 0."""
    product = pl.col(amount).cast(pl.Int128) * pl.col(f"{column}_num")
    return (product // pl.col(f"{column}_den")).clip(lower_bound=0).cast(pl.Int64)


def _coefficients(
    programme: Programme,
    rules: list[Any],
    tiers: dict[str, RuleColumn],
    frame: pl.DataFrame,
) -> tuple[pl.DataFrame, int]:
    """One row per (currency, channel, store): each column's exact factor as num and den;
    and the bit length of the largest numerator."""
    multipliers = {
        level.id: Fraction(level.multiplier) - 1
        for level in (programme.tiers.levels if programme.tiers else [])
    }
    names = [f"rule_{i}" for i in range(len(rules))] + [c.column for c in tiers.values()]
    rows: list[dict[str, Any]] = []
    bits = 0
    for currency, channel, store in frame.select("currency", "channel", "store").unique().rows():
        factors, base = _factors(rules, currency, channel, store)
        # The tier multiplier applies to the whole spend base (`evaluate`, after the loop).
        factors += [base * multipliers[level_id] for level_id in tiers]
        row: dict[str, Any] = {"currency": currency, "channel": channel, "store": store}
        for name, factor in zip(names, factors, strict=True):
            row[f"{name}_num"], row[f"{name}_den"] = factor.numerator, factor.denominator
            bits = max(bits, factor.numerator.bit_length())
        rows.append(row)
    schema: dict[str, pl.DataType] = {n: pl.String() for n in ("currency", "channel", "store")}
    for name in names:
        schema[f"{name}_num"] = pl.Int128()
        schema[f"{name}_den"] = pl.Int128()
    return pl.DataFrame(rows, schema=schema), bits


def _factors(
    rules: list[Any], currency: str, channel: str, store: str | None
) -> tuple[list[Fraction], Fraction]:
    """Per rule: points per unit of its amount (first-order and sustainable rules: 1 when in
    scope, as their points are fixed; 0 otherwise), and the spend base per minor unit."""
    try:
        per_unit = Fraction(1, 10 ** currency_exponent(currency))
    except ValueError:
        raise BacktestError(f"unknown currency {currency!r}", code="unknown_currency") from None
    base = Fraction(0)
    factors: list[Fraction] = []
    for rule in rules:
        if not _in_scope(rule, channel, store):
            factors.append(Fraction(0))
        elif rule.kind == "spend":
            rate = rule.rates.get(currency)
            factor = Fraction(0) if rate is None else Fraction(rate) * per_unit
            base += factor
            factors.append(factor)
        elif rule.kind in ("multiplier", "campaign"):
            # The base so far: only spend rules listed before this one count (as in `evaluate`).
            factors.append(base * (Fraction(rule.factor) - 1))
        else:
            factors.append(Fraction(1))
    return factors, base


def _in_scope(rule: RuleBase, channel: str, store: str | None) -> bool:
    if rule.channels is not None and channel not in rule.channels:
        return False
    return rule.stores is None or (store is not None and store in rule.stores)


def _check_range(frame: pl.DataFrame, numerator_bits: int) -> None:
    """Refuse factors so fine-grained that amount × numerator could leave 128 bits."""
    largest: int = frame.select(pl.col("value").max()).item() or 0  # bounds every matched sum
    if numerator_bits + largest.bit_length() > _LIMIT_BITS:
        raise BacktestError(
            "a rate or factor is too precise to backtest exactly", code="factor_too_precise"
        )
