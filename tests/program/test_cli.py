"""`trofast program validate | apply | show` and the programme jobs on their own SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.program.test_document import SAMPLE
from tests.support.cli import flat
from trofast.cli.main import app
from trofast.config import get_settings
from trofast.db import build_engine
from trofast.migrate import upgrade
from trofast.models import ProgrammeVersion


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TROFAST_DATABASE_URL", url)
    monkeypatch.setenv("TROFAST_CURRENCY", "NOK")
    get_settings.cache_clear()
    engine = build_engine(get_settings())
    upgrade(engine)
    engine.dispose()
    yield url
    get_settings.cache_clear()


def _versions() -> list[tuple[int, str | None]]:
    engine = build_engine(get_settings())
    with Session(engine) as session:
        rows = session.execute(
            select(ProgrammeVersion.version, ProgrammeVersion.note).order_by(
                ProgrammeVersion.version
            )
        ).all()
    engine.dispose()
    return [(version, note) for version, note in rows]


def test_validate_a_good_and_a_bad_document(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    spend = {"id": "b", "kind": "spend", "rates": {}}
    bad.write_text(
        json.dumps(
            {"name": "X", "currency": "NOK", "expiry": {"policy": "lot"}, "earning": [spend]}
        )
    )

    good = CliRunner().invoke(app, ["program", "validate", str(SAMPLE)])
    refused = CliRunner().invoke(app, ["program", "validate", str(bad)])

    assert good.exit_code == 0, good.output
    assert "valid (11 rule(s), 3 tier level(s))" in flat(good.output)
    assert refused.exit_code == 1
    assert "the programme has 2 problem(s)" in flat(refused.output)
    assert "expiry.months: expiry policy 'lot' needs months" in flat(refused.output)
    assert "earning[0].rates: Dictionary should have at least 1 item" in flat(refused.output)


def test_a_yaml_syntax_error_is_reported_at_the_document(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")

    result = CliRunner().invoke(app, ["program", "validate", str(broken)])

    assert result.exit_code == 1
    assert "the document is not valid YAML" in flat(result.output)
    assert "(document): while parsing a flow sequence" in flat(result.output)


def test_apply_twice_creates_one_version_then_show_it(database: str) -> None:
    runner = CliRunner()

    first = runner.invoke(app, ["program", "apply", str(SAMPLE), "--note", "launch"])
    second = runner.invoke(app, ["program", "apply", str(SAMPLE)])
    shown = runner.invoke(app, ["program", "show"])
    as_json = runner.invoke(app, ["program", "show", "--json"])
    source = runner.invoke(app, ["program", "show", "--source"])

    assert first.exit_code == 0, first.output
    assert f"programme version 1 applied from {SAMPLE}" in flat(first.output)
    assert second.exit_code == 0, second.output
    assert "unchanged:" in flat(second.output)
    assert "equals version 1, in force" in flat(second.output)
    assert _versions() == [(1, "launch")]
    assert shown.exit_code == 0, shown.output
    assert "Trofast Club, version 1 of" in flat(shown.output)
    assert "tiers on points, calendar_year" in flat(shown.output)
    assert "black-week" in shown.output
    assert json.loads(as_json.output)["earning"][0]["rates"]["NOK"] == "1"
    assert source.exit_code == 0, source.output
    assert source.output == SAMPLE.read_text()


def test_apply_refuses_an_invalid_document_and_writes_nothing(
    database: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\ncurrency: NOK\nearning:\n  - {id: a, kind: first_order, points: 0}\n")

    result = CliRunner().invoke(app, ["program", "apply", str(bad)])

    assert result.exit_code == 1
    assert "earning[0].points: Input should be greater than or equal to 1" in flat(result.output)
    assert _versions() == []


def test_show_without_a_programme_or_version_exits_1_with_the_reason(database: str) -> None:
    none = CliRunner().invoke(app, ["program", "show"])
    CliRunner().invoke(app, ["program", "apply", str(SAMPLE)])
    missing = CliRunner().invoke(app, ["program", "show", "--version", "7"])

    assert none.exit_code == 1
    assert "no programme has been applied yet (trofast program apply FILE) (no_programme)" in flat(
        none.output
    )
    assert missing.exit_code == 1
    assert "no programme version 7 (programme_version_not_found)" in flat(missing.output)


def test_the_programme_jobs_run_with_nothing_due(database: str) -> None:
    runner = CliRunner()
    runner.invoke(app, ["program", "apply", str(SAMPLE)])

    reviews = runner.invoke(app, ["program", "review-tiers"])
    birthdays = runner.invoke(app, ["program", "birthdays"])
    referrals = runner.invoke(app, ["program", "referrals"])

    assert [r.exit_code for r in (reviews, birthdays, referrals)] == [0, 0, 0]
    assert "did 0 tier review(s)" in flat(reviews.output)
    assert "gave 0 birthday bonus(es)" in flat(birthdays.output)
    assert "completed 0 referral(s)" in flat(referrals.output)


def test_apply_reads_utf8_with_a_bom_and_refuses_other_encodings(
    database: str, tmp_path: Path
) -> None:
    document = {"name": "Klubben", "currency": "NOK",
                "earning": [{"id": "base", "kind": "spend", "rates": {"NOK": 1}}]}  # fmt: skip
    wide = tmp_path / "wide.json"
    wide.write_bytes(json.dumps(document).encode("utf-16"))
    marked = tmp_path / "marked.json"
    marked.write_bytes(json.dumps(document).encode("utf-8-sig"))
    runner = CliRunner()

    refused = runner.invoke(app, ["program", "apply", str(wide)])
    applied = runner.invoke(app, ["program", "apply", str(marked)])
    source = runner.invoke(app, ["program", "show", "--source"])

    assert refused.exit_code == 1
    assert "the document is not UTF-8 text" in flat(refused.output)
    assert applied.exit_code == 0, applied.output
    assert _versions() == [(1, None)]
    assert source.output == json.dumps(document)  # kept without its byte order mark


def test_show_names_the_currency_and_rates_of_tiers_on_spend(database: str, tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("metric: points", 'metric: spend\n  rates: {EUR: "11.5"}')
    assert text != SAMPLE.read_text()
    document = tmp_path / "spend.yaml"
    document.write_text(text)
    runner = CliRunner()

    applied = runner.invoke(app, ["program", "apply", str(document)])
    shown = runner.invoke(app, ["program", "show"])

    assert applied.exit_code == 0, applied.output
    assert "tiers on spend in NOK (minor units, EUR at 11.5), calendar_year" in flat(shown.output)
