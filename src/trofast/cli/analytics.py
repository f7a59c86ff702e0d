"""`trofast analytics`: recompute the per-customer metrics from the orders in the database, and
store the merchant's marketing spend and sessions for the KPIs."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from trofast.analytics.errors import AnalyticsError, InvalidInput
from trofast.cli.context import console, engine_scope, err_console, session_scope
from trofast.config import get_settings
from trofast.insight.refresh import THIN_DATA_REPEAT_BUYERS, RefreshOptions, RefreshResult, refresh
from trofast.insight.service import InputsStored, store_inputs
from trofast.kit.time import utc_now

app = typer.Typer(help="Customer analytics on the shop's database.", no_args_is_help=True)

_SPEND_OPTION = typer.Option(
    None, "--marketing-spend", help="CSV of marketing spend per month: month,spend (YYYY-MM)."
)
_SESSIONS_OPTION = typer.Option(
    None, "--sessions", help="CSV of storefront sessions per day: day,sessions (YYYY-MM-DD)."
)


def _print(result: RefreshResult) -> None:
    console.print(
        f"refresh {result.fit_id} at {result.calibration_end}: {result.customers:,} customers "
        f"({result.repeat_customers:,} with a repeat purchase), {result.orders:,} orders; "
        f"status [bold]{result.status}[/bold]"
    )
    if result.message:
        err_console.print(f"[yellow]note:[/yellow] {result.message}")
    if result.thin:
        err_console.print(
            "[yellow]note:[/yellow] thin data: some parameter intervals are very wide; read "
            "individual predictions with their intervals"
        )
    if result.clv:
        interval = result.clv.get("total_interval_minor")
        span = f" (90% interval {interval[0]:,} – {interval[1]:,})" if interval else ""
        console.print(f"predicted {result.clv['months']}-month CLV, total "
                      f"{result.clv['total_minor']:,} minor units{span}")  # fmt: skip
    for problem in result.problems:
        err_console.print(f"[yellow]note:[/yellow] {problem}")
    console.print("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()))


@app.command("refresh")
def refresh_command(
    at: str | None = typer.Option(
        None, help="Calibration end date, YYYY-MM-DD (default: today, UTC)."
    ),
    unit: str = typer.Option("week", help="Time unit of the models: day, week or month."),
    model: str = typer.Option("bgnbd", help="Purchase model: bgnbd or paretonbd."),
    min_repeat_buyers: int = typer.Option(
        THIN_DATA_REPEAT_BUYERS, help="Fit the models only with this many repeat buyers."
    ),
    margin: float = typer.Option(1.0, help="Profit margin applied to spend in CLV (0-1)."),
    discount_rate: float = typer.Option(0.01, help="Monthly discount rate of CLV."),
    months: int = typer.Option(12, help="CLV horizon in months."),
    marketing_spend: Path | None = _SPEND_OPTION,
    sessions: Path | None = _SESSIONS_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write RFM, P(alive), expected orders, next order date, CLV and churn risk per customer
    to `customer_metrics`, and the fitted parameters to `analytics_fits`; with
    --marketing-spend / --sessions, store those CSVs first (as `trofast analytics inputs`)."""
    try:
        if unit not in ("day", "week", "month"):
            raise InvalidInput(f"unknown unit {unit!r}: use day, week or month")
        if model not in ("bgnbd", "paretonbd"):
            raise InvalidInput(f"unknown model {model!r}: use bgnbd or paretonbd")
        options = RefreshOptions(
            at=date.fromisoformat(at) if at else None,
            unit=unit,  # type: ignore[arg-type]
            model=model,  # type: ignore[arg-type]
            min_repeat_customers=min_repeat_buyers,
            clv_months=months,
            margin=margin,
            monthly_discount_rate=discount_rate,
        )
        spend_text, sessions_text = _read(marketing_spend), _read(sessions)
        with engine_scope() as engine, session_scope(engine) as session:
            stored = _store(session, spend_text, sessions_text)
            result = refresh(session, options)
    except (AnalyticsError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps({**asdict(result), "inputs": asdict(stored)}, indent=2, default=str))
    else:
        _print_stored(stored)
        _print(result)


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start})") from None


def _store(session: Session, spend: str | None, sessions: str | None) -> InputsStored:
    if spend is None and sessions is None:
        return InputsStored(0, 0)
    return store_inputs(session, marketing_spend=spend, sessions=sessions,
                        currency=get_settings().currency, now=utc_now())  # fmt: skip


def _print_stored(stored: InputsStored) -> None:
    if stored.months or stored.days:
        console.print(f"stored {stored.months} month(s) of marketing spend and "
                      f"{stored.days} day(s) of sessions")  # fmt: skip


@app.command("inputs")
def inputs_command(
    marketing_spend: Path | None = _SPEND_OPTION,
    sessions: Path | None = _SESSIONS_OPTION,
) -> None:
    """Store the merchant's marketing spend per month and sessions per day (CSV files) for
    CLV:CAC and the conversion rate of `GET /v1/analytics/kpis`. A month or day already
    stored is replaced; the others are kept. Nothing is stored if either file is bad."""
    try:
        if marketing_spend is None and sessions is None:
            raise InvalidInput("give --marketing-spend FILE, --sessions FILE or both")
        spend_text, sessions_text = _read(marketing_spend), _read(sessions)
        with engine_scope() as engine, session_scope(engine) as session:
            stored = _store(session, spend_text, sessions_text)
    except AnalyticsError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from exc
    _print_stored(stored)
