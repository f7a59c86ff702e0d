"""`trofast import orders FILE`: bulk order history from CSV, Parquet or whitespace logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from trofast.cli.context import (
    console,
    engine_scope,
    err_console,
    print_table,
    session_scope,
)
from trofast.config import get_settings
from trofast.imports.errors import ImportFileError
from trofast.imports.mapping import ImportOptions, parse_overrides, source_name
from trofast.imports.normalise import Chunk, normalise
from trofast.imports.reader import ImportFile, chunks, open_file
from trofast.imports.service import ChunkResult, import_chunk

app = typer.Typer(help="Bulk import of order history.", no_args_is_help=True)


@dataclass
class ImportSummary:
    rows: int = 0
    chunks: int = 0
    orders_inserted: int = 0
    orders_skipped: int = 0
    lines_inserted: int = 0
    customers_created: int = 0
    seconds: float = 0.0
    results: list[ChunkResult] = field(default_factory=list)

    def add(self, result: ChunkResult) -> None:
        self.rows += result.rows
        self.chunks += 1
        self.orders_inserted += result.orders_inserted
        self.orders_skipped += result.orders_skipped
        self.lines_inserted += result.lines_inserted
        self.customers_created += result.customers_created
        self.results.append(result)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def run_import(
    engine: Engine,
    source_file: ImportFile,
    options: ImportOptions,
    on_chunk: Callable[[ChunkResult], None] | None = None,
) -> ImportSummary:
    """Import chunk by chunk, each in its own committed transaction.

    The unit of work is the chunk, not the file: an interruption keeps every committed chunk,
    and running the same command again skips them (see `trofast.imports.service`).
    """
    summary = ImportSummary()
    started = time.perf_counter()
    frames = chunks(source_file, options.batch_size)

    def read_next() -> Chunk | None:
        frame = next(frames, None)
        return None if frame is None else normalise(frame, source_file.mapping, options)

    # Reading and normalising chunk n+1 (Polars, phone parsing) overlaps the loading of
    # chunk n, which mostly waits for PostgreSQL. Only this one thread touches the reader,
    # one chunk at a time, and a file error in chunk n+1 is raised here only after chunk n
    # has committed, as before.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-reader") as reader:
        pending = reader.submit(read_next)
        while (chunk := pending.result()) is not None:
            pending = reader.submit(read_next)
            with session_scope(engine) as session:
                result = import_chunk(session, chunk, options.source)
            summary.add(result)
            summary.seconds = time.perf_counter() - started
            if on_chunk is not None:
                on_chunk(result)
    summary.seconds = time.perf_counter() - started
    return summary


@app.command("orders")
def orders(
    file: Path = typer.Argument(..., help="CSV, Parquet or whitespace-separated file (CDNOW)."),
    source: str | None = typer.Option(
        None,
        help="Source name: ids become import:NAME (default: the file name without suffix); "
        "a name with a colon, e.g. shopify:shop.myshopify.com, is used as it is.",
    ),
    currency: str | None = typer.Option(
        None,
        help="Currency of amounts when the file has no currency column (default: the "
        "shop's TROFAST_CURRENCY).",
    ),
    date_format: str | None = typer.Option(
        None, help="strftime format of the date column, e.g. %Y%m%d for CDNOW (default: ISO 8601)."
    ),
    timezone: str = typer.Option("UTC", help="Time zone of dates written without an offset."),
    channel: str = typer.Option("web", help="Channel when the file has none: web or store."),
    mapping: list[str] = typer.Option(
        [], "--map", help="COLUMN=FIELD: read FIELD from COLUMN (repeatable); =FIELD ignores it."
    ),
    file_format: str = typer.Option("auto", "--format", help="auto, csv, parquet or whitespace."),
    separator: str = typer.Option(",", help="CSV field separator, e.g. ';'."),
    decimal_comma: bool = typer.Option(False, help="Amounts are written 12,50."),
    phone_region: str = typer.Option("NO", help="Country of phone numbers without +code."),
    batch_size: int = typer.Option(100_000, help="Rows per chunk; each chunk is one transaction."),
) -> None:
    """Import order history, one row per line item or one row per order (totals only).

    Importing the same file again changes nothing, and an interrupted import resumes where
    it stopped when run again. Imported orders are paid and dated by their order date.
    See docs/import.md for the column mapping.
    """
    settings = get_settings()
    try:
        options = ImportOptions(
            source=source_name(source or file.stem),
            currency=currency or settings.currency,
            date_format=date_format,
            timezone=timezone,
            channel=channel,
            phone_region=phone_region,
            file_format=file_format,
            separator=separator,
            decimal_comma=decimal_comma,
            batch_size=batch_size,
            overrides=parse_overrides(mapping),
        )
        source_file = open_file(file, options)
        total = source_file.row_count()
    except ImportFileError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(2) from None
    columns = ", ".join(f"{c}→{f}" for f, c in source_file.mapping.columns.items())
    console.print(f"{file}: {total:,} rows into source [bold]{options.source}[/bold] ({columns})")
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with engine_scope(settings) as engine, progress:
        task = progress.add_task("rows", total=total)
        try:
            summary = run_import(
                engine, source_file, options, lambda r: progress.advance(task, r.rows)
            )
        except ImportFileError as exc:
            progress.stop()
            err_console.print(
                f"[red]error[/red] ({exc.code}): {exc.message}\n"
                "Chunks before this one are imported; fix the file and run the same command "
                "again: imported orders are skipped."
            )
            raise typer.Exit(1) from None
    _print_summary(summary)


def _print_summary(summary: ImportSummary) -> None:
    table = Table(
        "rows read",
        "orders inserted",
        "orders skipped",
        "lines",
        "customers created",
        "seconds",
        "rows/s",
    )
    table.add_row(
        f"{summary.rows:,}",
        f"{summary.orders_inserted:,}",
        f"{summary.orders_skipped:,}",
        f"{summary.lines_inserted:,}",
        f"{summary.customers_created:,}",
        f"{summary.seconds:.1f}",
        f"{summary.rows_per_second:,.0f}",
    )
    print_table(table)
