"""The backtest on the CDNOW logs (tests/data/cdnow), end to end and through the CLI."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from tests.support.data import CDNOW
from trofast.cli.main import app
from trofast.imports.mapping import ImportOptions
from trofast.program import backtest
from trofast.program.backtest_history import from_import_file
from trofast.program.document import load

PLAIN = """
name: CDNOW plain
currency: USD
pending: {return_window_days: 30}
earning:
  - {id: dollars, kind: spend, rates: {USD: 1}}
  - {id: welcome, kind: first_order, points: 10}
"""

TIERED = """
name: CDNOW tiers
currency: USD
point_value_minor: "0.5"
expiry: {policy: lot, months: 12}
earning:
  - {id: dollars, kind: spend, rates: {USD: 1}}
  - id: spring
    kind: campaign
    factor: 2
    starts_at: "1997-03-01T00:00:00+00:00"
    ends_at: "1997-04-01T00:00:00+00:00"
tiers:
  metric: points
  period: calendar_year
  levels:
    - {id: base, name: Base, threshold: 0}
    - {id: silver, name: Silver, threshold: 200, retain: 100, multiplier: "1.25"}
"""


def _independent(path: Path) -> tuple[int, int, int, int]:
    """orders, members, points and points pending at 1998-07-01, from the text alone: a
    dollar a point per order, 10 for a customer's first order: of orders on the same day
    (CDNOW has dates only), the one recorded first, as the engine counts it."""
    rows: list[tuple[str, date, Decimal]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():  # the master log has a header
            day = date(int(parts[1][:4]), int(parts[1][4:6]), int(parts[1][6:]))
            rows.append((parts[0], day, Decimal(parts[3])))
    first: dict[str, tuple[date, int]] = {}
    for index, (customer, day, _) in enumerate(rows):
        first[customer] = min(first.get(customer, (day, index)), (day, index))
    # The first-order bonus is spread over the lines by value: an order of $0 gets none.
    points = [
        int(usd) + (10 if first[c][1] == index and usd > 0 else 0)
        for index, (c, _, usd) in enumerate(rows)
    ]
    pending = sum(p for p, (_, day, _) in zip(points, rows, strict=True) if day >= date(1998, 6, 1))
    return len(rows), len(first), sum(points), pending


def test_cdnow_master_replays_exactly() -> None:
    path = CDNOW / "CDNOW_master.txt"
    opts = ImportOptions(source="import:cdnow", currency="USD", date_format="%Y%m%d")
    report = backtest.run(load(PLAIN), from_import_file(path, opts))

    orders, members, issued, pending = _independent(path)
    assert (report.orders, report.members) == (orders, members) == (69659, 23570)
    assert report.issued == issued
    assert (report.pending, report.available, report.expired) == (pending, issued - pending, 0)
    assert report.end.isoformat() == "1998-07-01T00:00:00+00:00"
    assert len(report.months) == 18


def test_cli_backtest_of_the_cdnow_sample_as_json(tmp_path: Path) -> None:
    programme = tmp_path / "tiers.yaml"
    programme.write_text(TIERED)
    args = ["program", "backtest", str(programme), "--orders", str(CDNOW / "CDNOW_sample.txt")]
    result = CliRunner().invoke(app, [*args, "--date-format", "%Y%m%d", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["orders"], data["members"]) == (6919, 2357)
    points = data["points"]
    assert sum(rule["points"] for rule in data["rules"]) == points["issued"]
    assert points["issued"] == points["expired"] + points["pending"] + points["available"]
    assert points["expired"] > 0
    assert {rule["rule"] for rule in data["rules"]} == {"dollars", "spring", "tier:silver"}
    last = data["months"][-1]
    assert sum(last["members"].values()) == 2357
    assert Decimal(data["liability"]["minor"]) == Decimal(points["outstanding"]) / 2


def test_cli_backtest_tables_and_a_bad_rate(tmp_path: Path) -> None:
    programme = tmp_path / "tiers.yaml"
    programme.write_text(TIERED)
    args = ["program", "backtest", str(programme), "--orders", str(CDNOW / "CDNOW_sample.txt")]
    runner = CliRunner()

    shown = runner.invoke(app, [*args, "--date-format", "%Y%m%d"])
    refused = runner.invoke(app, [*args, "--date-format", "%Y%m%d", "--redemption-rate", "x"])

    assert shown.exit_code == 0, shown.output
    assert "tier:silver" in shown.output
    assert "1998-06" in shown.output
    assert refused.exit_code == 2
    assert "invalid_rate" in refused.output


def test_cli_backtest_tables_show_every_figure_whole() -> None:
    """A table wider than the terminal (80 columns here) is not cut to "1,855,8…"."""
    # The demo programme's three levels make the monthly table wider than 80 columns.
    demo = Path(__file__).parents[2] / "src/trofast/demo/programme.yaml"
    args = ["program", "backtest", str(demo), "--orders", str(CDNOW / "CDNOW_master.txt")]
    runner = CliRunner()

    shown = runner.invoke(app, [*args, "--date-format", "%Y%m%d"])
    data = json.loads(runner.invoke(app, [*args, "--date-format", "%Y%m%d", "--json"]).output)

    assert shown.exit_code == 0, shown.output
    assert "…" not in shown.output
    for month in data["months"]:
        assert f"{month['issued']:,}" in shown.output
        assert f"{month['expired']:,}" in shown.output
