"""`trofast import orders` end to end on its own SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.imports.helpers import FIXTURES
from tests.support.cli import flat
from trofast.cli.main import app
from trofast.config import get_settings
from trofast.db import build_engine
from trofast.migrate import upgrade
from trofast.models import Order


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


def test_import_orders_twice_reports_inserted_then_skipped(database: str) -> None:
    runner = CliRunner()
    args = [
        "import",
        "orders",
        str(FIXTURES / "lines.csv"),
        "--source",
        "shop",
        "--timezone",
        "Europe/Oslo",
    ]

    first = runner.invoke(app, args)
    second = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "into source import:shop" in flat(first.output)
    assert second.exit_code == 0, second.output
    first_row = [line for line in first.output.splitlines() if "│ 4 " in line]
    second_row = [line for line in second.output.splitlines() if "│ 4 " in line]
    assert [c.strip() for c in first_row[0].split("│")[1:6]] == ["4", "3", "0", "4", "1"]
    assert [c.strip() for c in second_row[0].split("│")[1:6]] == ["4", "0", "3", "0", "0"]
    engine = build_engine(get_settings())
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 3
    engine.dispose()


def test_a_refused_file_exits_with_the_error_code(database: str) -> None:
    result = CliRunner().invoke(app, ["import", "orders", str(FIXTURES / "bad_precision.csv")])

    assert result.exit_code == 1
    assert "invalid_amount_precision" in flat(result.output)
    assert "line 3" in flat(result.output)
