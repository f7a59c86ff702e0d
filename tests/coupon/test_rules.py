"""Pure: reason codes in their fixed order, and each discount kind's exact amount."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from trofast.coupon import rules
from trofast.coupon.discounts import HANDLERS, Applied, Cart, CartLine

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CART = Cart(
    currency="NOK",
    channel="web",
    lines=[
        CartLine("SWEATER", "knitwear", 2, 49900),
        CartLine("HAT", "accessories", 1, 19900),
    ],
    shipping_minor=4900,
)
BASE = rules.Terms(
    kind="fixed_amount",
    discount={"amount_minor": 10000},
    currency="NOK",
    max_uses=1,
    uses=0,
    per_customer_limit=None,
    valid_from=None,
    valid_until=None,
    min_order_minor=None,
    channels=[],
    categories=[],
    owner_customer_id=None,
    disabled=False,
)


def test_every_kind_in_the_registry_has_a_handler_and_a_reason_list_without_repeats() -> None:
    assert set(HANDLERS) == {"fixed_amount", "percent", "free_shipping", "free_product"}
    assert len(set(rules.REASONS)) == len(rules.REASONS)


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("fixed_amount", {"amount_minor": 10000}, Applied("fixed_amount", 10000)),
        # Never more than the goods: a 2,000 kr voucher on 1,197 kr of goods gives 1,197.
        ("fixed_amount", {"amount_minor": 200000}, Applied("fixed_amount", 119700)),
        # 15 % of 119,700 øre = 17,955.
        ("percent", {"percent": 15}, Applied("percent", 17955)),
        # 33 % of 119,700 = 39,501 exactly.
        ("percent", {"percent": 33}, Applied("percent", 39501)),
        ("percent", {"percent": 15, "max_amount_minor": 10000}, Applied("percent", 10000)),
        ("free_shipping", {}, Applied("free_shipping", 4900, free_shipping=True)),
        ("free_product", {"sku": "HAT"}, Applied("free_product", 19900, sku="HAT")),
        ("free_product", {"sku": "SCARF"}, "product_not_in_cart"),
    ],
)
def test_discount_kinds(kind: str, params: dict[str, object], expected: Applied | str) -> None:
    terms = replace(BASE, kind=kind, discount=params)

    assert rules.check(terms, CART, None, NOW) == expected


def test_percent_rounds_down_in_the_shops_favour() -> None:
    odd = Cart("NOK", "web", [CartLine("X", None, 1, 999)])
    terms = replace(BASE, kind="percent", discount={"percent": 10})

    assert rules.check(terms, odd, None, NOW) == Applied("percent", 99)


def test_categories_limit_both_eligibility_and_the_base_of_the_discount() -> None:
    terms = replace(BASE, kind="percent", discount={"percent": 10}, categories=["accessories"])

    assert rules.check(terms, CART, None, NOW) == Applied("percent", 1990)
    only_knitwear = Cart("NOK", "web", [CartLine("SWEATER", "knitwear", 1, 49900)])
    assert rules.check(terms, only_knitwear, None, NOW) == "category_not_allowed"


@pytest.mark.parametrize(
    ("change", "customer_id", "customer_uses", "reason"),
    [
        ({"disabled": True}, None, 0, "unknown_or_invalid"),
        ({"owner_customer_id": 7}, 8, 0, "unknown_or_invalid"),
        ({"owner_customer_id": 7}, None, 0, "unknown_or_invalid"),
        ({"valid_from": NOW + timedelta(seconds=1)}, None, 0, "not_yet_valid"),
        ({"valid_until": NOW}, None, 0, "expired"),
        ({"uses": 1}, None, 0, "already_used"),
        ({"max_uses": 5, "uses": 5}, None, 0, "limit_reached"),
        ({"max_uses": None, "per_customer_limit": 2}, None, 0, "customer_required"),
        ({"max_uses": None, "per_customer_limit": 2}, 8, 2, "customer_limit_reached"),
        ({"currency": "SEK"}, None, 0, "currency_not_allowed"),
        ({"channels": ["store"]}, None, 0, "channel_not_allowed"),
        ({"categories": ["shoes"]}, None, 0, "category_not_allowed"),
        ({"min_order_minor": 119701}, None, 0, "minimum_not_met"),
    ],
)
def test_each_reason(
    change: dict[str, object], customer_id: int | None, customer_uses: int, reason: str
) -> None:
    terms = replace(BASE, **change)  # type: ignore[arg-type]

    assert rules.check(terms, CART, customer_id, NOW, customer_uses) == reason


def test_boundaries_are_inclusive_where_they_should_be() -> None:
    terms = replace(
        BASE,
        valid_from=NOW,
        valid_until=NOW + timedelta(seconds=1),
        min_order_minor=119700,
        owner_customer_id=7,
        max_uses=None,
        per_customer_limit=2,
    )

    assert rules.check(terms, CART, 7, NOW, customer_uses=1) == Applied("fixed_amount", 10000)


def test_a_used_up_code_says_so_before_what_the_cart_lacks() -> None:
    terms = replace(BASE, uses=1, min_order_minor=10**9, channels=["store"])

    assert rules.check(terms, CART, None, NOW) == "already_used"
