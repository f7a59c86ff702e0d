"""The programme document: what loads, and the path and reason of every problem refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from trofast.program import document
from trofast.program.document import ActionRule, CampaignRule, Cap, Programme
from trofast.program.errors import InvalidProgramme

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "trofast" / "demo" / "programme.yaml"
BASE: dict[str, Any] = {"name": "Klubben", "currency": "NOK"}
SPEND = {"id": "base", "kind": "spend", "rates": {"NOK": 1}}


def _errors(data: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidProgramme) as caught:
        document.validate(data)
    assert caught.value.code == "invalid_programme"
    assert caught.value.status_code == 400
    errors: list[dict[str, str]] = caught.value.detail["errors"]
    assert caught.value.message == f"the programme has {len(errors)} problem(s)"
    return errors


def _ladder(*levels: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "tiers": {"metric": "points", "period": "lifetime", "levels": list(levels)}}


def test_the_sample_programme_loads_with_every_rule_kind_and_three_tiers() -> None:
    programme = document.load(SAMPLE.read_text())

    assert programme.name == "Trofast Club"
    assert [(r.id, r.kind) for r in programme.earning] == [
        ("base", "spend"),
        ("stiglo-double", "multiplier"),
        ("black-week", "campaign"),
        ("summer-in-store", "campaign"),
        ("welcome-order", "first_order"),
        ("green", "sustainable_product"),
        ("birthday", "birthday"),
        ("signup", "action"),
        ("newsletter", "action"),
        ("review", "action"),
        ("survey", "action"),
    ]
    base = programme.earning[0]
    assert base.kind == "spend"
    assert base.rates == {"NOK": 1, "SEK": 1, "DKK": Decimal("1.5"), "EUR": 10}
    black_week = programme.earning[2]
    assert isinstance(black_week, CampaignRule)
    assert black_week.starts_at == datetime(2026, 11, 22, 23, tzinfo=UTC)
    survey = programme.earning[10]
    assert isinstance(survey, ActionRule)
    assert (survey.cap, survey.budget) == (Cap(count=2, period="month"), 100000)
    assert programme.tiers is not None
    # Thresholds are tuned to the demo data; the shape is what the demo promises.
    levels = programme.tiers.levels
    assert [(lv.id, lv.multiplier, lv.free_shipping) for lv in levels] == [
        ("base", 1, False),
        ("silver", Decimal("1.25"), False),
        ("gold", Decimal("1.5"), True),
    ]
    assert all(lv.keep_at < lv.threshold for lv in levels[1:])
    assert (programme.expiry.policy, programme.expiry.months) == ("lot", 12)
    assert programme.point_value_minor == 10


def test_json_and_yaml_of_the_same_document_give_the_same_programme() -> None:
    data = yaml.safe_load(SAMPLE.read_text())
    as_json = json.dumps(data, default=str)

    assert document.load(as_json, fmt="json") == document.load(SAMPLE.read_bytes())


def test_defaults_of_a_minimal_document() -> None:
    programme = document.validate(BASE)

    assert programme == Programme(name="Klubben", currency="NOK")
    assert (programme.enrolment, programme.prices_include_tax) == ("automatic", True)
    assert programme.pending.return_window_days == 30
    assert (programme.expiry.policy, programme.expiry.months) == ("none", None)
    assert programme.returns.spent_points == "allow_debt"
    assert (programme.earning, programme.tiers) == ([], None)


def test_a_yaml_syntax_error_is_one_problem_at_the_document_with_line_and_column() -> None:
    with pytest.raises(InvalidProgramme) as caught:
        document.load("name: Klubben\nearning: [unclosed\n")

    assert caught.value.message == "the document is not valid YAML"
    [error] = caught.value.detail["errors"]
    assert error["path"] == ""
    assert "expected ',' or ']'" in error["reason"]
    assert "line 3, column 1" in error["reason"]


def test_a_json_syntax_error_names_the_position() -> None:
    with pytest.raises(InvalidProgramme) as caught:
        document.load('{"name": ', fmt="json")

    assert caught.value.message == "the document is not valid JSON"
    assert caught.value.detail["errors"] == [
        {"path": "", "reason": "Expecting value: line 1 column 10 (char 9)"}
    ]


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert _errors(["a", "b"]) == [
        {"path": "", "reason": "Input should be a valid dictionary or instance of Programme"}
    ]


def test_unknown_keys_are_refused_at_every_level() -> None:
    errors = _errors(
        {
            **BASE,
            "currancy": "SEK",
            "expiry": {"policy": "none", "month": 3},
            "earning": [{**SPEND, "rate": 2}],
        }
    )

    assert errors == [
        {"path": "expiry.month", "reason": "Extra inputs are not permitted"},
        {"path": "earning[0].rate", "reason": "Extra inputs are not permitted"},
        {"path": "currancy", "reason": "Extra inputs are not permitted"},
    ]


def test_every_problem_of_the_rules_is_listed_with_its_path_and_reason() -> None:
    errors = _errors(
        {
            "currency": "NOK",
            "earning": [
                {"id": "base", "kind": "spend", "rates": {"NOK": -1, "XXX": 1}},
                {"id": "Bad Id", "kind": "first_order", "points": 0},
                {"id": "shoes", "kind": "multiplier", "factor": 2},
                {"id": "gone", "kind": "lottery"},
                {"id": "web", "kind": "spend", "rates": {"NOK": "0.1234567"}, "channels": ["app"]},
                {"id": "review", "kind": "action", "action": "review", "points": 5,
                 "cap": {"count": 0, "period": "fortnight"}},
                {"id": "multi", "kind": "multiplier", "factor": 0, "skus": ["A"]},
            ],
        }
    )  # fmt: skip

    assert errors == [
        {"path": "name", "reason": "Field required"},
        {"path": "earning[0].rates.NOK", "reason": "Input should be greater than or equal to 0"},
        {"path": "earning[0].rates.XXX", "reason": "unknown ISO 4217 currency XXX"},
        {
            "path": "earning[1].id",
            "reason": "String should match pattern '^[a-z0-9][a-z0-9_-]{0,63}$'",
        },
        {"path": "earning[1].points", "reason": "Input should be greater than or equal to 1"},
        {"path": "earning[2]", "reason": "a multiplier needs categories, skus or brands"},
        {
            "path": "earning[3]",
            "reason": "Input tag 'lottery' found using 'kind' does not match any of the "
            "expected tags: 'spend', 'multiplier', 'campaign', 'first_order', "
            "'sustainable_product', 'action', 'birthday'",
        },
        {"path": "earning[4].channels[0]", "reason": "Input should be 'web' or 'store'"},
        {
            "path": "earning[4].rates.NOK",
            "reason": "Decimal input should have no more than 6 decimal places",
        },
        {"path": "earning[5].cap.count", "reason": "Input should be greater than or equal to 1"},
        {
            "path": "earning[5].cap.period",
            "reason": "Input should be 'day', 'week', 'month', 'year' or 'lifetime'",
        },
        {"path": "earning[6].factor", "reason": "Input should be greater than 0"},
    ]


def test_duplicate_rule_ids_point_at_the_second_rule() -> None:
    errors = _errors(
        {**BASE, "earning": [SPEND, {"id": "first", "kind": "first_order", "points": 5}, SPEND]}
    )

    assert errors == [{"path": "earning[2].id", "reason": "duplicate rule id 'base'"}]


def test_a_campaign_must_end_after_it_starts_and_name_a_timezone() -> None:
    campaign = {"id": "bw", "kind": "campaign", "factor": 2}

    assert _errors(
        {
            **BASE,
            "earning": [
                {**campaign, "starts_at": "2026-11-30T00:00:00+01:00",
                 "ends_at": "2026-11-30T00:00:00+01:00"},
            ],
        }
    ) == [{"path": "earning[0].ends_at", "reason": "ends_at must be after starts_at"}]  # fmt: skip
    assert _errors(
        {
            **BASE,
            "earning": [
                {**campaign, "starts_at": "2026-11-23T00:00:00",
                 "ends_at": "2026-11-30T00:00:00+01:00"},
            ],
        }
    ) == [
        {
            "path": "earning[0].starts_at",
            "reason": "a timestamp needs a timezone (e.g. 2026-11-27T00:00:00+01:00)",
        }
    ]  # fmt: skip


@pytest.mark.parametrize("policy", ["lot", "inactivity"])
def test_an_expiry_policy_needs_months(policy: str) -> None:
    assert _errors({**BASE, "expiry": {"policy": policy}}) == [
        {"path": "expiry.months", "reason": f"expiry policy '{policy}' needs months"}
    ]


def test_no_expiry_needs_no_months_and_months_stay_in_range() -> None:
    assert document.validate({**BASE, "expiry": {"policy": "none"}}).expiry.months is None
    assert _errors({**BASE, "expiry": {"policy": "lot", "months": 121}}) == [
        {"path": "expiry.months", "reason": "Input should be less than or equal to 120"}
    ]


def test_the_base_level_must_have_threshold_zero() -> None:
    assert _errors(_ladder({"id": "base", "name": "Base", "threshold": 10})) == [
        {
            "path": "tiers.levels[0].threshold",
            "reason": "the first level is the base tier: its threshold must be 0",
        }
    ]


def test_thresholds_must_increase_strictly() -> None:
    errors = _errors(
        _ladder(
            {"id": "base", "name": "Base", "threshold": 0},
            {"id": "silver", "name": "Silver", "threshold": 100},
            {"id": "gold", "name": "Gold", "threshold": 100},
        )
    )

    assert errors == [
        {
            "path": "tiers.levels[2].threshold",
            "reason": "level thresholds must increase strictly (100 after 100)",
        }
    ]


def test_retain_may_not_exceed_the_threshold_but_may_equal_it() -> None:
    base = {"id": "base", "name": "Base", "threshold": 0}

    assert _errors(_ladder(base, {"id": "s", "name": "S", "threshold": 100, "retain": 101})) == [
        {"path": "tiers.levels[1].retain", "reason": "retain must not exceed threshold"}
    ]
    kept = document.validate(
        _ladder(base, {"id": "s", "name": "S", "threshold": 100, "retain": 100})
    )
    assert kept.tiers is not None
    assert kept.tiers.levels[1].keep_at == 100


def test_level_ids_are_unique() -> None:
    errors = _errors(
        _ladder(
            {"id": "base", "name": "Base", "threshold": 0},
            {"id": "base", "name": "Silver", "threshold": 100},
        )
    )

    assert errors == [{"path": "tiers.levels[1].id", "reason": "duplicate level id 'base'"}]


def test_the_tier_metric_period_and_levels_are_checked() -> None:
    errors = _errors({**BASE, "tiers": {"metric": "visits", "period": "weekly", "levels": []}})

    assert errors == [
        {"path": "tiers.metric", "reason": "Input should be 'points' or 'spend'"},
        {
            "path": "tiers.period",
            "reason": "Input should be 'lifetime', 'calendar_year' or 'rolling_12_months'",
        },
        {
            "path": "tiers.levels",
            "reason": "List should have at least 1 item after validation, not 0",
        },
    ]


def test_enrolment_returns_and_pending_accept_only_their_values() -> None:
    errors = _errors(
        {
            **BASE,
            "enrolment": "invite",
            "pending": {"return_window_days": 366},
            "returns": {"spent_points": "forgive"},
        }
    )

    assert errors == [
        {"path": "enrolment", "reason": "Input should be 'automatic' or 'opt_in'"},
        {
            "path": "pending.return_window_days",
            "reason": "Input should be less than or equal to 365",
        },
        {"path": "returns.spent_points", "reason": "Input should be 'allow_debt' or 'clamp'"},
    ]
