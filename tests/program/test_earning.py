"""Golden tests of the order earning rules (`earning.evaluate`) and net line values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from trofast.program import document
from trofast.program.document import Level, Programme
from trofast.program.earning import Award, LineFacts, OrderFacts, evaluate, net_line_values

PLACED = datetime(2026, 3, 1, 10, tzinfo=UTC)
SPEND: dict[str, Any] = {"id": "base", "kind": "spend", "rates": {"NOK": 1}}


def _programme(*rules: dict[str, Any]) -> Programme:
    return document.validate({"name": "Klubben", "currency": "NOK", "earning": list(rules)})


def _order(*lines: LineFacts, **facts: Any) -> OrderFacts:
    values: dict[str, Any] = {
        "currency": "NOK",
        "channel": "web",
        "store": None,
        "placed_at": PLACED,
        **facts,
    }
    return OrderFacts(lines=lines, **values)


def _line(line_id: int, value: int, quantity: int = 1, **facts: Any) -> LineFacts:
    return LineFacts(line_id=line_id, quantity=quantity, value=value, **facts)


# The order of test_engine: 2 × 499.50 NOK and 199 − 20 NOK.
SWEATER = _line(1, 99900, quantity=2, category="ull", brand="Dale", sku="SKU-1")
HAT = _line(2, 17900, category="tilbehor", brand="Stiglo", sku="SKU-2")


# --- spend ----------------------------------------------------------------------------


def test_spend_gives_the_rate_per_unit_of_currency_per_line() -> None:
    awards = evaluate(_programme(SPEND), _order(SWEATER, HAT))

    assert awards == [Award("base", "spend", 1178, {1: 999, 2: 179})]


def test_spend_is_computed_in_exact_fractions() -> None:
    # 0.29 × 100 NOK: floats say 28.999999999999996 and would floor to 28.
    rule = {**SPEND, "rates": {"NOK": "0.29"}}

    assert evaluate(_programme(rule), _order(_line(1, 10000))) == [
        Award("base", "spend", 29, {1: 29})
    ]


def test_spend_rounds_down_once_per_rule_per_order_not_per_line() -> None:
    # Three lines of 0.5 × 1.50 NOK = 0.75 point: 2.25 in all → 2, not 0 + 0 + 0.
    rule = {**SPEND, "rates": {"NOK": "0.5"}}
    order = _order(_line(1, 150), _line(2, 150), _line(3, 150))

    # Equal remainders: the lowest line ids get the extra points, every time.
    assert evaluate(_programme(rule), order) == [Award("base", "spend", 2, {1: 1, 2: 1})]


def test_the_lines_of_an_award_sum_to_it_by_largest_remainder() -> None:
    # 0.1 point per krone: 3.333 + 3.333 + 3.334 = 10; the 0.334 line gets the tenth point.
    rule = {**SPEND, "rates": {"NOK": "0.1"}}
    order = _order(_line(1, 3333), _line(2, 3333), _line(3, 3334))

    assert evaluate(_programme(rule), order) == [Award("base", "spend", 10, {1: 3, 2: 3, 3: 4})]


def test_less_than_one_point_is_no_award() -> None:
    assert evaluate(_programme(SPEND), _order(_line(1, 99))) == []


def test_each_currency_has_its_rate_and_its_exponent() -> None:
    rule = {**SPEND, "rates": {"NOK": 1, "DKK": "1.5", "JPY": "0.01", "KWD": 2}}
    programme = _programme(rule)

    # DKK 100.01 × 1.5 = 150.015 → 150.
    assert evaluate(programme, _order(_line(1, 10001), currency="DKK"))[0].points == 150
    # JPY has no minor unit: ¥12,345 × 0.01 = 123.45 → 123.
    assert evaluate(programme, _order(_line(1, 12345), currency="JPY"))[0].points == 123
    # KWD has three decimals: 1.234 KWD × 2 = 2.468 → 2.
    assert evaluate(programme, _order(_line(1, 1234), currency="KWD"))[0].points == 2


def test_an_order_in_a_currency_without_a_rate_earns_no_spend_points() -> None:
    assert evaluate(_programme(SPEND), _order(SWEATER, currency="SEK")) == []


def test_several_spend_rules_each_award_and_together_form_the_base() -> None:
    extra = {"id": "extra", "kind": "spend", "rates": {"NOK": "0.5"}}
    double = {"id": "ull", "kind": "multiplier", "factor": 2, "categories": ["ull"]}

    awards = evaluate(_programme(SPEND, extra, double), _order(SWEATER))

    # Base 999 + 499.5 = 1,498.5 on the sweater; the multiplier adds it once more.
    assert awards == [
        Award("base", "spend", 999, {1: 999}),
        Award("extra", "spend", 499, {1: 499}),
        Award("ull", "multiplier", 1498, {1: 1498}),
    ]


# --- multiplier -----------------------------------------------------------------------


def test_a_multiplier_adds_base_times_factor_minus_one_on_matching_lines() -> None:
    shoes = _line(3, 20000, category="sko")
    tagged = _line(4, 3000, sku="SKU-9")
    plain = _line(5, 5000, category="mat", brand="Other", sku="SKU-0")
    rule = {
        "id": "double",
        "kind": "multiplier",
        "factor": 2,
        "categories": ["sko"],
        "skus": ["SKU-9"],
        "brands": ["Stiglo"],
    }

    awards = evaluate(_programme(SPEND, rule), _order(HAT, shoes, tagged, plain))

    # Brand (hat 179), category (shoes 200) and sku (30); the plain line gets nothing.
    assert awards == [
        Award("base", "spend", 459, {2: 179, 3: 200, 4: 30, 5: 50}),
        Award("double", "multiplier", 409, {2: 179, 3: 200, 4: 30}),
    ]


def test_multipliers_add_up_instead_of_multiplying() -> None:
    by_brand = {"id": "brand", "kind": "multiplier", "factor": 2, "brands": ["Stiglo"]}
    by_category = {"id": "cat", "kind": "multiplier", "factor": "1.5", "categories": ["tilbehor"]}

    awards = evaluate(_programme(SPEND, by_brand, by_category), _order(HAT))

    # 179 + 179 × 1 + 179 × 0.5 = 447.5 → 179 + 179 + 89 = 447 (× 2 × 1.5 would be 537).
    assert [(a.rule, a.points) for a in awards] == [("base", 179), ("brand", 179), ("cat", 89)]


def test_a_multiplier_counts_only_the_spend_rules_listed_before_it() -> None:
    rule = {"id": "double", "kind": "multiplier", "factor": 2, "brands": ["Stiglo"]}

    assert evaluate(_programme(rule, SPEND), _order(HAT)) == [Award("base", "spend", 179, {2: 179})]


# --- campaign -------------------------------------------------------------------------

CAMPAIGN: dict[str, Any] = {
    "id": "black-week",
    "kind": "campaign",
    "factor": 2,
    "starts_at": "2026-11-23T00:00:00+01:00",
    "ends_at": "2026-11-30T00:00:00+01:00",
}


def test_a_campaign_doubles_orders_placed_inside_its_window() -> None:
    programme = _programme(SPEND, CAMPAIGN)
    starts = datetime(2026, 11, 22, 23, tzinfo=UTC)  # midnight in Oslo
    ends = datetime(2026, 11, 29, 23, tzinfo=UTC)
    second = timedelta(seconds=1)

    def rules(placed_at: datetime) -> list[tuple[str, int]]:
        return [
            (a.rule, a.points) for a in evaluate(programme, _order(SWEATER, placed_at=placed_at))
        ]

    assert evaluate(programme, _order(SWEATER, HAT, placed_at=starts)) == [
        Award("base", "spend", 1178, {1: 999, 2: 179}),
        Award("black-week", "campaign", 1178, {1: 999, 2: 179}),
    ]
    # The window includes its start and excludes its end.
    assert rules(starts - second) == [("base", 999)]
    assert rules(ends - second) == [("base", 999), ("black-week", 999)]
    assert rules(ends) == [("base", 999)]


def test_a_campaign_limited_to_categories_leaves_other_lines_alone() -> None:
    rule = {**CAMPAIGN, "factor": "1.5", "categories": ["tilbehor"]}

    awards = evaluate(
        _programme(SPEND, rule), _order(SWEATER, HAT, placed_at=datetime(2026, 11, 25, tzinfo=UTC))
    )

    assert awards[1] == Award("black-week", "campaign", 89, {2: 89})


# --- scope ----------------------------------------------------------------------------


def test_a_rule_scoped_to_a_channel_or_store_applies_only_there() -> None:
    in_store = {"id": "store-bonus", "kind": "spend", "rates": {"NOK": 1}, "channels": ["store"]}
    oslo = {"id": "oslo", "kind": "spend", "rates": {"NOK": 2}, "stores": ["oslo"]}
    programme = _programme(in_store, oslo)

    assert evaluate(programme, _order(HAT)) == []  # web, no store
    assert [
        (a.rule, a.points)
        for a in evaluate(programme, _order(HAT, channel="store", store="bergen"))
    ] == [("store-bonus", 179)]
    assert [
        (a.rule, a.points) for a in evaluate(programme, _order(HAT, channel="store", store="oslo"))
    ] == [
        ("store-bonus", 179),
        ("oslo", 358),
    ]


def test_a_multiplier_out_of_scope_adds_nothing() -> None:
    rule = {
        "id": "double",
        "kind": "multiplier",
        "factor": 2,
        "brands": ["Stiglo"],
        "channels": ["store"],
    }

    assert [a.rule for a in evaluate(_programme(SPEND, rule), _order(HAT))] == ["base"]


# --- first order, sustainable, tier ---------------------------------------------------


def test_the_first_order_bonus_is_spread_over_the_lines_by_value() -> None:
    rule = {"id": "welcome", "kind": "first_order", "points": 100}
    programme = _programme(rule)

    # 100 × 999/1178 = 84.80 and 100 × 179/1178 = 15.20 → 84 + 15, the 0.80 line gets the 100th.
    assert evaluate(programme, _order(SWEATER, HAT, first_order=True)) == [
        Award("welcome", "first_order", 100, {1: 85, 2: 15})
    ]
    assert evaluate(programme, _order(SWEATER, HAT, first_order=False)) == []
    # An order of gift cards only (no merchandise value) gets no bonus.
    assert evaluate(programme, _order(_line(1, 0), first_order=True)) == []


def test_sustainable_products_earn_points_per_unit() -> None:
    rule = {"id": "green", "kind": "sustainable_product", "points": 20}
    recycled = _line(1, 30000, quantity=3, sustainable=True)
    free_sample = _line(2, 0, quantity=1, sustainable=True)  # discounted to nothing: no points

    awards = evaluate(_programme(rule), _order(recycled, free_sample, HAT))

    assert awards == [Award("green", "sustainable_product", 60, {1: 60})]


def test_the_tier_multiplier_adds_to_the_whole_spend_base() -> None:
    silver = Level(id="silver", name="Silver", threshold=1000, multiplier="1.25")
    welcome = {"id": "welcome", "kind": "first_order", "points": 100}

    awards = evaluate(
        _programme(SPEND, welcome), _order(SWEATER, HAT, tier=silver, first_order=True)
    )

    # 0.25 × (999 + 179) = 249.75 + 44.75 = 294.5 → 294; the bonus is not multiplied.
    assert awards == [
        Award("base", "spend", 1178, {1: 999, 2: 179}),
        Award("welcome", "first_order", 100, {1: 85, 2: 15}),
        Award("tier:silver", "tier_multiplier", 294, {1: 250, 2: 44}),
    ]


def test_a_base_tier_without_multiplier_adds_no_award() -> None:
    base = Level(id="base", name="Base", threshold=0)

    assert [a.rule for a in evaluate(_programme(SPEND), _order(HAT, tier=base))] == ["base"]


def test_birthday_and_action_rules_give_nothing_on_an_order() -> None:
    birthday = {"id": "bday", "kind": "birthday", "points": 250}
    action = {"id": "review", "kind": "action", "action": "product_review", "points": 50}

    assert evaluate(_programme(birthday, action), _order(SWEATER, HAT, first_order=True)) == []


# --- net line values ------------------------------------------------------------------


def _lines(*specs: tuple[int, int, int, bool]) -> list[dict[str, Any]]:
    return [
        {"line_id": line_id, "total": total, "tax": tax, "gift_card": gift_card}
        for line_id, total, tax, gift_card in specs
    ]


ORDER_LINES = _lines((1, 10000, 2000, False), (2, 5000, 1000, False), (3, 50000, 0, True))


def test_tax_is_excluded_when_prices_include_it_and_the_order_discount_spread() -> None:
    # Merchandise 80 + 40 NOK without VAT; the 30 NOK order discount splits 20 / 10.
    assert net_line_values(ORDER_LINES, 3000, prices_include_tax=True) == {1: 6000, 2: 3000, 3: 0}


def test_prices_without_tax_are_taken_as_they_are() -> None:
    assert net_line_values(ORDER_LINES, 3000, prices_include_tax=False) == {
        1: 8000,
        2: 4000,
        3: 0,
    }


def test_gift_cards_earn_nothing_and_take_no_share_of_the_discount() -> None:
    lines = _lines((1, 10000, 0, False), (2, 10000, 0, True))

    assert net_line_values(lines, 1000, prices_include_tax=True) == {1: 9000, 2: 0}


def test_an_uneven_discount_is_split_by_largest_remainder() -> None:
    lines = _lines((1, 1000, 0, False), (2, 1000, 0, False), (3, 1000, 0, False))

    assert net_line_values(lines, 100, prices_include_tax=True) == {1: 966, 2: 967, 3: 967}


def test_values_never_go_below_zero() -> None:
    lines = _lines((1, 1000, 0, False), (2, 500, 600, False))

    # A discount over the merchandise takes it all; a tax above the total leaves nothing.
    assert net_line_values(lines, 5000, prices_include_tax=True) == {1: 0, 2: 0}
    # A negative order discount is ignored.
    assert net_line_values(lines, -300, prices_include_tax=True) == {1: 1000, 2: 0}
