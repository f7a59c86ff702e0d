"""The reward catalogue and points as payment in the programme document: precise paths."""

from __future__ import annotations

from typing import Any

import pytest

from trofast.program import document
from trofast.program.errors import InvalidProgramme

BASE: dict[str, Any] = {
    "name": "Club",
    "currency": "NOK",
    "tiers": {
        "metric": "points",
        "period": "lifetime",
        "levels": [
            {"id": "base", "name": "Base", "threshold": 0},
            {"id": "gold", "name": "Gold", "threshold": 10, "rewards": ["lounge"]},
        ],
    },
    "rewards": [{"id": "lounge", "name": "Lounge", "kind": "custom", "cost": 10}],
}


def problems(**changes: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidProgramme) as raised:
        document.validate({**BASE, **changes})
    errors: list[dict[str, str]] = raised.value.detail["errors"]
    return errors


def test_every_kind_loads() -> None:
    rewards = [
        {"id": "a", "name": "A", "kind": "fixed_amount", "cost": 1, "amount_minor": 100},
        {"id": "b", "name": "B", "kind": "percent", "cost": 1, "percent": 10},
        {"id": "c", "name": "C", "kind": "free_shipping", "cost": 1},
        {"id": "d", "name": "D", "kind": "free_product", "cost": 1, "sku": "S"},
        {"id": "lounge", "name": "E", "kind": "custom", "cost": 1, "stock": 0},
    ]

    programme = document.validate({**BASE, "rewards": rewards})

    assert [r.kind for r in programme.rewards] == [
        "fixed_amount", "percent", "free_shipping", "free_product", "custom",
    ]  # fmt: skip
    assert programme.returns.released_reward == "coupon"
    assert programme.points_payment is None


def test_a_level_naming_an_unknown_reward() -> None:
    levels = [
        *BASE["tiers"]["levels"][:1],
        {"id": "gold", "name": "Gold", "threshold": 10, "rewards": ["lounge", "yacht"]},
    ]

    assert problems(tiers={**BASE["tiers"], "levels": levels}) == [
        {
            "path": "tiers.levels[1].rewards[1]",
            "reason": "level 'gold' names reward 'yacht', which is not in rewards",
        }
    ]


def test_reward_errors_name_the_reward_not_the_union_tag() -> None:
    rewards = [
        {"id": "lounge", "name": "L", "kind": "custom", "cost": 10},
        {"id": "p", "name": "P", "kind": "percent", "cost": 1, "percent": 101},
        {"id": "lounge", "name": "again", "kind": "custom", "cost": 1},
        {
            "id": "w", "name": "W", "kind": "free_shipping", "cost": 1,
            "available_from": "2026-02-01T00:00:00+01:00",
            "available_until": "2026-01-01T00:00:00+01:00",
        },
    ]  # fmt: skip

    assert problems(rewards=rewards) == [
        {"path": "rewards[1].percent", "reason": "Input should be less than or equal to 100"},
        {
            "path": "rewards[3].available_until",
            "reason": "available_until must be after available_from",
        },
    ]
    assert problems(rewards=[rewards[0], rewards[2]]) == [
        {"path": "rewards[1].id", "reason": "duplicate reward id 'lounge'"}
    ]


def test_points_payment_bounds() -> None:
    assert problems(points_payment={"value_minor": "0.12345"})[0]["path"] == (
        "points_payment.value_minor"
    )
    assert problems(points_payment={"value_minor": 1, "min_points": 10, "max_points": 5}) == [
        {"path": "points_payment.max_points", "reason": "max_points must not be below min_points"}
    ]
