"""`trofast analyze FILE` end to end: terminal tables, --json, --html, and plain errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tests.support.cli import flat
from trofast.cli.analyze import app, load_orders

runner = CliRunner()


@pytest.fixture(scope="module")
def cdnow_csv(cdnow_orders: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("analyze") / "orders.csv"
    cdnow_orders.rename(
        {"customer_id": "kunde", "timestamp": "dato", "amount": "beløp"}
    ).with_columns(pl.col("dato").dt.strftime("%d.%m.%Y")).write_csv(path)
    return path


def _args(path: Path) -> list[str]:
    return [str(path), "--customer-col", "kunde", "--date-col", "dato", "--amount-col", "beløp",
            "--date-format", "%d.%m.%Y", "--calibration-end", "1997-09-30"]  # fmt: skip


def test_json_has_parameters_intervals_segments_and_kpis(cdnow_csv: Path) -> None:
    result = runner.invoke(app, [*_args(cdnow_csv), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert round(data["models"]["bgnbd"]["params"]["r"], 3) == 0.243
    assert round(data["models"]["bgnbd"]["log_likelihood"], 1) == -9582.4
    assert data["models"]["gammagamma"]["intervals_95"]["p"]["lower"] < 6.25
    assert sum(s["customers"] for s in data["segments"]) == 2357
    assert data["kpis"]["customers"] == 2357
    assert data["holdout"]["actual_repeat_purchases"] == 1882
    assert (
        data["clv"]["total_interval_90"][0]
        < data["clv"]["total"]
        < data["clv"]["total_interval_90"][1]
    )


@pytest.mark.slow
def test_html_report_is_self_contained(cdnow_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(app, [*_args(cdnow_csv), "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert "Champions" in flat(result.output)
    text = out.read_text(encoding="utf-8")
    assert "RFM grid" in text
    assert "Monthly cohorts" in text
    assert "CLV per customer" in text
    assert "P(active)" in text
    # plotly.js is inlined: no <script src=...>, the report works offline
    assert "<script src=" not in text
    assert text.count("<script") >= 5


def test_order_lines_are_summed_per_order(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text(
        "order_id,customer_id,timestamp,amount\n"
        "o1,c1,2024-01-05T10:00:00+01:00,10\n"
        "o1,c1,2024-01-05T10:00:00+01:00,15.5\n"
        "o2,c2,2024-01-06T23:30:00+00:00,7\n",
        encoding="utf-8",
    )
    orders = load_orders(path).sort("customer_id")
    assert orders.rows() == [("c1", date(2024, 1, 5), 25.5), ("c2", date(2024, 1, 6), 7.0)]


def test_too_little_data_still_reports_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,10\na,2024-02-01,20\nb,2024-01-15,5\n")
    result = runner.invoke(app, [str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["models"] == {}
    assert data["kpis"]["orders"] == 3
    assert any("at least 20 customers with a repeat purchase" in p for p in data["problems"])


def test_missing_column_is_a_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("client,date,amount\na,2024-01-01,10\n")
    result = runner.invoke(app, [str(path)])
    assert result.exit_code == 2
    assert "no column(s) customer_id" in flat(result.output)


def test_json_has_clv_to_cac_and_conversion_from_the_two_csvs(
    cdnow_csv: Path, tmp_path: Path
) -> None:
    spend, sessions = tmp_path / "spend.csv", tmp_path / "sessions.csv"
    spend.write_text("month,spend\n1997-01,20000\n1997-02,5000\n1997-03,1000\n", encoding="utf-8")
    sessions.write_text("day,sessions\n1997-01-01,1000\n1997-01-02,1000\n", encoding="utf-8")

    result = runner.invoke(app, [*_args(cdnow_csv), "--marketing-spend", str(spend),
                                 "--sessions", str(sessions), "--json"])  # fmt: skip

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the CDNOW cohort was acquired in January-March 1997: every one of its 2,357 customers
    cac = data["clv_to_cac"]
    assert (cac["marketing_spend"], cac["new_customers"]) == (26_000.0, 2357)
    assert cac["cac"] == pytest.approx(26_000 / 2357)
    assert cac["average_clv"] == pytest.approx(
        (cac["realised_value"] + cac["predicted_clv"]) / 2357
    )
    assert cac["predicted_clv"] == pytest.approx(data["clv"]["total"])
    assert cac["ratio"] == pytest.approx(cac["average_clv"] / cac["cac"])
    orders = pl.read_csv(cdnow_csv).filter(pl.col("dato").is_in(["01.01.1997", "02.01.1997"]))
    assert data["conversion"] == {
        "sessions": 2000, "orders": orders.height, "rate": orders.height / 2000,
    }  # fmt: skip


def test_json_without_the_csvs_has_them_null(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,10\n")
    data = json.loads(runner.invoke(app, [str(path), "--json"]).stdout)
    assert (data["clv_to_cac"], data["conversion"]) == (None, None)


def test_a_bad_spend_file_is_a_plain_error(cdnow_csv: Path, tmp_path: Path) -> None:
    spend = tmp_path / "spend.csv"
    spend.write_text("month,spend\n1997-01,lots\n", encoding="utf-8")
    result = runner.invoke(app, [*_args(cdnow_csv), "--marketing-spend", str(spend)])
    assert result.exit_code == 2
    assert "row 2, column 'spend': 'lots' is not a non-negative amount" in flat(result.output)
