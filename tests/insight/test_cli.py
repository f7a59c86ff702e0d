"""`trofast analytics refresh` end to end on its own SQLite database: it commits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.insight.factories import add_customer, add_orders, order_row
from tests.support.cli import flat
from trofast.cli.main import app
from trofast.config import get_settings
from trofast.db import build_engine
from trofast.migrate import upgrade
from trofast.models import AnalyticsFit, CustomerMetric
from trofast.models.insight import DailySessions, MarketingSpend


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("TROFAST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    engine = build_engine(get_settings())
    upgrade(engine)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def test_refresh_commits_rfm_and_says_the_data_is_too_thin(database: Engine) -> None:
    with Session(database) as session:
        a, b = add_customer(session), add_customer(session)
        add_orders(
            session,
            [order_row(a, date(2026, 1, 5), 1_000), order_row(a, date(2026, 2, 5), 3_000),
             order_row(b, date(2026, 2, 20), 500)],
        )  # fmt: skip
        session.commit()

    result = CliRunner().invoke(app, ["analytics", "refresh", "--at", "2026-02-28", "--json"])

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["status"], body["customers"], body["repeat_customers"], body["orders"]) == (
        "insufficient_data", 2, 1, 3,
    )  # fmt: skip
    with Session(database) as session:
        assert session.scalar(select(func.count()).select_from(CustomerMetric)) == 2
        assert session.scalar(select(AnalyticsFit.status)) == "insufficient_data"


def test_refresh_refuses_an_unknown_unit_and_writes_nothing(database: Engine) -> None:
    result = CliRunner().invoke(app, ["analytics", "refresh", "--unit", "fortnight"])
    assert result.exit_code == 2
    assert "unknown unit 'fortnight'" in flat(result.output)
    with Session(database) as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsFit)) == 0


def test_inputs_stores_spend_and_sessions(database: Engine, tmp_path: Path) -> None:
    spend, sessions = tmp_path / "spend.csv", tmp_path / "sessions.csv"
    spend.write_text("month,spend\n2026-01,600.00\n2026-02,400.25\n", encoding="utf-8")
    sessions.write_text("day,sessions\n2026-01-10,100\n", encoding="utf-8")

    result = CliRunner().invoke(
        app, ["analytics", "inputs", "--marketing-spend", str(spend), "--sessions", str(sessions)]
    )

    assert result.exit_code == 0, result.output
    assert "stored 2 month(s) of marketing spend and 1 day(s) of sessions" in flat(result.output)
    with Session(database) as session:
        assert session.execute(select(MarketingSpend.spend_minor)).scalars().all() == [
            60_000, 40_025,
        ]  # fmt: skip
        assert session.execute(select(DailySessions.sessions)).scalars().all() == [100]


def test_inputs_refuses_a_bad_file_and_stores_neither(database: Engine, tmp_path: Path) -> None:
    spend, sessions = tmp_path / "spend.csv", tmp_path / "sessions.csv"
    spend.write_text("month,spend\n2026-01,600.00\n", encoding="utf-8")
    sessions.write_text("day,visits\n2026-01-10,100\n", encoding="utf-8")

    result = CliRunner().invoke(
        app, ["analytics", "inputs", "--marketing-spend", str(spend), "--sessions", str(sessions)]
    )

    assert result.exit_code == 2
    assert "sessions: the header has no column(s) sessions" in flat(result.output)
    with Session(database) as session:
        assert session.scalar(select(func.count()).select_from(MarketingSpend)) == 0


def test_refresh_stores_the_inputs_in_its_unit_of_work(database: Engine, tmp_path: Path) -> None:
    spend = tmp_path / "spend.csv"
    spend.write_text("month,spend\n2026-01,10\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["analytics", "refresh", "--at", "2026-02-28", "--marketing-spend", str(spend), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inputs"] == {"months": 1, "days": 0}
    with Session(database) as session:
        assert session.scalar(select(MarketingSpend.spend_minor)) == 1_000
