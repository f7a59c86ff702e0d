"""`trofast analyze FILE`: the whole customer analysis of an order export, no database needed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import typer
from rich.table import Table

from trofast.analytics.clv import ClvSettings
from trofast.analytics.errors import AnalyticsError, InvalidInput
from trofast.analytics.inputs import read_marketing_spend, read_sessions
from trofast.analytics.report import AnalysisReport, ModelName, analyze_orders
from trofast.analytics.summary import Unit, unit_days
from trofast.cli.context import console, err_console, print_table

app = typer.Typer(help="Customer analytics on an order export (CSV or Parquet).")

_DATE_COLUMNS = ("date", "timestamp", "order_date", "created_at", "processed_at")


def _read(path: Path, separator: str) -> pl.DataFrame:
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pl.read_parquet(path)
    return pl.read_csv(path, separator=separator, infer_schema_length=10_000)


def _text(path: Path) -> str:
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start})") from None


def _iso_date(e: pl.Expr) -> pl.Expr:
    return e.str.to_date()


def _iso_datetime_offset(e: pl.Expr) -> pl.Expr:
    # timestamps with an offset are converted to UTC before the day is taken
    return e.str.to_datetime(time_zone="UTC").dt.date()


def _iso_datetime(e: pl.Expr) -> pl.Expr:
    return e.str.to_datetime().dt.date()


def _as_date(frame: pl.DataFrame, col: str, date_format: str | None) -> pl.Expr:
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    text = pl.col(col).cast(pl.String)
    if date_format:
        return text.str.to_datetime(date_format, strict=True).dt.date()
    sample = frame.select(text.head(1000).alias("s"))
    for parse in (_iso_date, _iso_datetime_offset, _iso_datetime):
        try:
            sample.select(parse(pl.col("s")))
        except pl.exceptions.PolarsError:
            continue
        return parse(text)
    raise InvalidInput(
        f"cannot read the dates in column {col!r}; give --date-format, e.g. %d.%m.%Y"
    )


def load_orders(
    path: Path,
    *,
    customer_col: str = "customer_id",
    date_col: str | None = None,
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    date_format: str | None = None,
    separator: str = ",",
) -> pl.DataFrame:
    """One row per order: ``customer_id, timestamp (date), amount``.

    A file with one row per order line is summed per ``order_col`` when that column exists.
    """
    raw = _read(path, separator)
    if date_col is None:
        date_col = next((c for c in _DATE_COLUMNS if c in raw.columns), None)
        if date_col is None:
            raise InvalidInput(f"no date column found; name it with --date-col ({raw.columns})")
    missing = [c for c in (customer_col, date_col, amount_col) if c not in raw.columns]
    if missing:
        raise InvalidInput(
            f"the file has no column(s) {', '.join(missing)}; its columns are "
            f"{', '.join(raw.columns)} (use --customer-col, --date-col, --amount-col)"
        )
    orders = raw.select(
        pl.col(customer_col).cast(pl.String).alias("customer_id"),
        _as_date(raw, date_col, date_format).alias("timestamp"),
        pl.col(amount_col).cast(pl.Float64).alias("amount"),
        *([pl.col(order_col).alias("order_id")] if order_col and order_col in raw.columns else []),
    )
    if "order_id" in orders.columns:
        orders = orders.group_by("order_id").agg(
            pl.col("customer_id").first(), pl.col("timestamp").min(), pl.col("amount").sum()
        )
    return orders.select("customer_id", "timestamp", "amount").drop_nulls()


def _print_report(report: AnalysisReport) -> None:
    data = report.to_dict()
    console.print(
        f"[bold]Orders[/bold] {report.first_order} → {report.last_order}; calibration end "
        f"{report.calibration_end}; unit {report.unit}"
    )
    kpis = Table(title="Key figures")
    kpis.add_column("measure")
    kpis.add_column("value", justify="right")
    for key, value in data["kpis"].items():
        kpis.add_row(
            key.replace("_", " "), f"{value:,.4g}" if isinstance(value, float) else str(value)
        )
    print_table(kpis)
    seg = Table(title="RFM segments")
    for col in ("segment", "customers", "revenue"):
        seg.add_column(col, justify="left" if col == "segment" else "right")
    for row in data["segments"]:
        seg.add_row(row["segment"], str(row["customers"]), f"{row['revenue']:,.0f}")
    print_table(seg)
    models = Table(title="Fitted models (95% intervals from the observed information)")
    for col in ("model", "parameter", "estimate", "95% interval", "log-likelihood"):
        models.add_column(col)
    for name, model in data["models"].items():
        for p, value in model["params"].items():
            iv = model["intervals_95"][p]
            upper = "∞" if iv["upper"] is None else f"{iv['upper']:.4g}"
            models.add_row(name, p, f"{value:.4g}", f"{iv['lower']:.4g} – {upper}",
                           f"{model['log_likelihood']:.1f}")  # fmt: skip
    print_table(models)
    if data.get("clv"):
        clv = data["clv"]
        interval = clv["total_interval_90"]
        span = f" (90% interval {interval[0]:,.0f} – {interval[1]:,.0f})" if interval else ""
        console.print(f"Predicted 12-month CLV: total {clv['total']:,.0f}{span}, "
                      f"mean {clv['mean']:,.2f}, median {clv['median']:,.2f}")  # fmt: skip
    if report.clv_to_cac:
        c = report.clv_to_cac
        console.print(
            f"CLV:CAC {c['ratio']:.2f}: {c['new_customers']:,} customers acquired for "
            f"{c['marketing_spend']:,.0f} (CAC {c['cac']:,.2f}), average CLV "
            f"{c['average_clv']:,.2f} (value so far plus {c['clv_months']} months predicted)"
        )
    if report.conversion:
        v = report.conversion
        console.print(f"Conversion {v['rate']:.2%}: {v['orders']:,} orders in "
                      f"{v['sessions']:,} sessions")  # fmt: skip
    if report.holdout:
        h = report.holdout
        console.print(
            f"Holdout check over {h['periods']:.1f} {report.unit}s: forecast "
            f"{h['forecast_repeat_purchases']:,.0f} repeat purchases, actual "
            f"{h['actual_repeat_purchases']:,.0f} ({h['error']:+.1%})"
        )
    for problem in report.problems:
        err_console.print(f"[yellow]note:[/yellow] {problem}")


@app.command("analyze")
def analyze(
    file: Path = typer.Argument(
        ..., help="Order export: CSV or Parquet, one row per order or line."
    ),
    customer_col: str = typer.Option("customer_id", help="Column with the customer id."),
    date_col: str | None = typer.Option(None, help="Date column (default: date or timestamp)."),
    amount_col: str = typer.Option("amount", help="Column with the order (line) amount."),
    order_col: str = typer.Option("order_id", help="Order id column, if lines are to be summed."),
    date_format: str | None = typer.Option(None, help="strftime format of the dates, e.g. %Y%m%d."),
    separator: str = typer.Option(",", help="CSV field separator."),
    calibration_end: str | None = typer.Option(
        None, help="Fit on orders up to this date (YYYY-MM-DD); later orders check the forecast."
    ),
    unit: str = typer.Option("week", help="Time unit of the models: day, week or month."),
    model: str = typer.Option("bgnbd", help="Purchase model: bgnbd or paretonbd."),
    margin: float = typer.Option(1.0, help="Profit margin applied to spend in CLV (0-1)."),
    discount_rate: float = typer.Option(0.01, help="Monthly discount rate of CLV."),
    months: int = typer.Option(12, help="CLV horizon in months."),
    marketing_spend: Path | None = typer.Option(
        None, "--marketing-spend", help="CSV month,spend (YYYY-MM) for CAC and CLV:CAC."
    ),
    sessions: Path | None = typer.Option(
        None, "--sessions", help="CSV day,sessions (YYYY-MM-DD) for the conversion rate."
    ),
    html: Path | None = typer.Option(None, "--html", help="Write an HTML report with charts."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON for scripts."),
) -> None:
    """Run RFM, cohorts, repeat KPIs, BG/NBD (or Pareto/NBD) + Gamma-Gamma and CLV on FILE."""
    try:
        if unit not in ("day", "week", "month"):
            raise InvalidInput(f"unknown unit {unit!r}: use day, week or month")
        if model not in ("bgnbd", "paretonbd"):
            raise InvalidInput(f"unknown model {model!r}: use bgnbd or paretonbd")
        end = date.fromisoformat(calibration_end) if calibration_end else None
        orders = load_orders(file, customer_col=customer_col, date_col=date_col,
                             amount_col=amount_col, order_col=order_col,
                             date_format=date_format, separator=separator)  # fmt: skip
        unit_t: Unit = unit  # type: ignore[assignment]
        model_t: ModelName = model  # type: ignore[assignment]
        settings = ClvSettings(months=months, margin=margin, monthly_discount_rate=discount_rate,
                               periods_per_month=365.25 / 12 / unit_days(unit))  # fmt: skip
        spend = None if marketing_spend is None else read_marketing_spend(_text(marketing_spend))
        visits = None if sessions is None else read_sessions(_text(sessions))
        report = analyze_orders(orders, calibration_end=end, unit=unit_t, model=model_t,
                                clv=settings, marketing_spend=spend, sessions=visits)  # fmt: skip
    except (AnalyticsError, ValueError, pl.exceptions.PolarsError) as exc:
        err_console.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(code=2) from exc
    if html is not None:
        from trofast.analytics.report_html import render_html  # plotly is slow to import

        html.write_text(render_html(report), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_report(report)
        if html is not None:
            console.print(f"HTML report written to {html}")
