"""What every command needs: settings, a migrated engine, a unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from trofast.config import Settings, get_settings
from trofast.db import Job, build_engine, build_sessionmaker, run_job, unit_of_work
from trofast.kit.time import utc_now

console = Console()
err_console = Console(stderr=True)


def print_table(table: Table) -> None:
    """Print a table whole: Rich fits a table to the terminal by cutting cells ("1,855,8…"),
    which loses a report's figures. A wider table is printed at its own width instead, and
    the terminal wraps its lines."""
    needed = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    if needed <= console.width:
        console.print(table)
        return
    Console(file=console.file, width=needed, force_terminal=console.is_terminal).print(table)


@contextmanager
def engine_scope(settings: Settings | None = None) -> Iterator[Engine]:
    engine = build_engine(settings or get_settings())
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One command, one unit of work: committed when the block succeeds."""
    with unit_of_work(build_sessionmaker(engine)) as session:
        yield session


def run_due_job(job: Job) -> int:
    """A time-driven job, due as of now, committed every few hundred members."""
    with engine_scope() as engine:
        return run_job(build_sessionmaker(engine), job, utc_now())
