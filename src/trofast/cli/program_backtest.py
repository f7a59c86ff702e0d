"""`trofast program backtest FILE --orders HISTORY`: what a draft programme would have cost."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Literal

import typer
from rich.table import Table

from trofast.cli.context import (
    console,
    engine_scope,
    err_console,
    print_table,
    session_scope,
)
from trofast.errors import BadRequest
from trofast.imports.mapping import ImportOptions, parse_overrides
from trofast.program import backtest as engine
from trofast.program.backtest_history import BacktestError, History, from_import_file
from trofast.program.document import Programme, load
from trofast.program.errors import InvalidProgramme


def backtest(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="The draft programme (YAML or JSON)."
    ),
    orders: str = typer.Option(
        ...,
        "--orders",
        help="The history: a CSV, Parquet or whitespace file (as for `trofast import orders`), "
        "or `db` for the orders in the database.",
    ),
    end: datetime | None = typer.Option(
        None,
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z"],
        help="First instant after the history (UTC when no offset; default: the end of the "
        "last order's month); later orders are left out.",
    ),
    redemption_rate: str = typer.Option(
        "0", help="Share of each lot assumed spent once available, e.g. 0.3 (default: none)."
    ),
    currency: str | None = typer.Option(
        None, help="Currency of a file without a currency column (default: the programme's)."
    ),
    date_format: str | None = typer.Option(
        None, help="strftime format of the date column, e.g. %Y%m%d for CDNOW (default: ISO)."
    ),
    timezone: str = typer.Option("UTC", help="Time zone of dates written without an offset."),
    channel: str = typer.Option("web", help="Channel when the file has none: web or store."),
    mapping: list[str] = typer.Option(
        [], "--map", help="COLUMN=FIELD: read FIELD from COLUMN (repeatable); =FIELD ignores it."
    ),
    file_format: str = typer.Option("auto", "--format", help="auto, csv, parquet or whitespace."),
    separator: str = typer.Option(",", help="CSV field separator."),
    decimal_comma: bool = typer.Option(False, help="Amounts are written 12,50."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Replay an order history through a draft programme; nothing is written anywhere.

    Reports points issued (per rule, with shares), expiry within and after the history,
    points pending and available at its end, the liability in currency and members per tier
    at each month end. Assumes every customer is a member from the first order, no refunds,
    and no redemptions unless --redemption-rate is given. See docs/programme.md.
    """
    started = time.perf_counter()
    try:
        programme = load(file.read_bytes(), fmt="json" if file.suffix == ".json" else "yaml")
        rate = _rate(redemption_rate)
        if orders == "db":
            history = _from_database(programme)
        else:
            options = ImportOptions(
                source="import:backtest",
                currency=currency or programme.currency,
                date_format=date_format,
                timezone=timezone,
                channel=channel,
                file_format=file_format,
                separator=separator,
                decimal_comma=decimal_comma,
                overrides=parse_overrides(mapping),
                # Nothing is written per chunk here, so bigger chunks only save overhead.
                batch_size=500_000,
            )
            history = from_import_file(Path(orders), options)
        read = time.perf_counter() - started
        if end is not None and end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        report = engine.run(programme, history, end=end, redemption_rate=rate)
    except InvalidProgramme as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        for error in exc.detail["errors"]:
            err_console.print(f"  {error['path'] or '(document)'}: {error['reason']}")
        raise typer.Exit(2) from None
    except BadRequest as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(2) from None
    seconds = {"read": read, "total": time.perf_counter() - started}
    if as_json:
        data = report.as_dict()
        data["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
        typer.echo(json.dumps(data, indent=2))
        return
    _print(report, seconds)


def _rate(text: str) -> Fraction:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BacktestError(
            f"--redemption-rate {text!r} is not a number", code="invalid_rate"
        ) from None
    if not value.is_finite():
        raise BacktestError("--redemption-rate must be a finite share", code="invalid_rate")
    return Fraction(value)


def _from_database(programme: Programme) -> History:
    from trofast.program.backtest_repository import load_history

    with engine_scope() as db, session_scope(db) as session:
        return load_history(session, prices_include_tax=programme.prices_include_tax)


def _print(report: engine.BacktestReport, seconds: dict[str, float]) -> None:
    period = f"{report.start:%Y-%m-%d}" if report.start else "—"
    console.print(
        f"[bold]{report.programme}[/bold]: {report.orders:,} orders ({report.member_orders:,} "
        f"of {report.members:,} members) from {period} to {report.end:%Y-%m-%d} (exclusive)"
    )
    revenue = ", ".join(f"{v:,} {c} minor units" for c, v in report.revenue_minor.items())
    console.print(f"revenue (net merchandise): {revenue or '—'}")
    summary = Table("issued", "redeemed", "expired", "pending", "available", "liability")
    summary.add_row(
        f"{report.issued:,}",
        f"{report.redeemed:,}",
        f"{report.expired:,}",
        f"{report.pending:,}",
        f"{report.available:,}",
        f"{report.liability:,.2f} {report.currency}",
    )
    print_table(summary)
    rules = Table("rule", "kind", "points", "share")
    for rule in report.rules:
        rules.add_row(rule.rule, rule.kind, f"{rule.points:,}", f"{float(rule.share):.1%}")
    print_table(rules)
    if report.expiry_scheduled:
        scheduled = Table("expires in", "points", title="Scheduled expiry after the end")
        for month, points in report.expiry_scheduled[:12]:
            scheduled.add_row(month, f"{points:,}")
        print_table(scheduled)
    _print_months(report, "tiers" if report.levels else "plain")
    notes = [
        f"redemptions assumed: {float(report.redemption_rate):.0%} of each lot",
        "refunds and cancellations are not replayed",
    ]
    if report.not_replayed:
        notes.append(f"not replayed (no events in a history): {', '.join(report.not_replayed)}")
    console.print("; ".join(notes))
    console.print(f"read {seconds['read']:.1f} s, total {seconds['total']:.1f} s")


def _print_months(report: engine.BacktestReport, kind: Literal["tiers", "plain"]) -> None:
    table = Table("month", "orders", "issued", "expired", title="By month (members at month end)")
    if kind == "tiers":
        for level in report.levels:
            table.add_column(level, justify="right")
        table.add_column("up", justify="right")
        table.add_column("down", justify="right")
    for row in report.months:
        cells = [row["month"], f"{row['orders']:,}", f"{row['issued']:,}", f"{row['expired']:,}"]
        if kind == "tiers":
            cells += [f"{row['members'][level]:,}" for level in report.levels]
            cells += [str(row["upgrades"]), str(row["downgrades"])]
        table.add_row(*cells)
    print_table(table)
