"""`trofast ledger`: run the time-driven jobs and check the ledger's invariants."""

from __future__ import annotations

import json

import typer

from trofast.cli.context import (
    console,
    engine_scope,
    err_console,
    run_due_job,
    session_scope,
)
from trofast.ledger import jobs
from trofast.ledger.verify import verify as run_checks

app = typer.Typer(help="The points ledger: settle, expire, verify.", no_args_is_help=True)


@app.command("settle")
def settle() -> None:
    """Make pending points available where the return window has closed."""
    console.print(f"settled {run_due_job(jobs.SETTLE)} lot(s)")


@app.command("expire")
def expire() -> None:
    """Move the unspent points of lots past their expiry to `expired`."""
    console.print(f"expired {run_due_job(jobs.EXPIRE)} lot(s)")


@app.command("verify")
def verify() -> None:
    """Check every ledger invariant over the whole database; exit 1 on any violation."""
    with engine_scope() as engine, session_scope(engine) as session:
        violations = run_checks(session)
    if not violations:
        console.print("ledger ok: every invariant holds")
        return
    for violation in violations:
        err_console.print(
            f"[bold red]{violation.check}[/bold red]: {violation.description} "
            f"({violation.count} row(s))"
        )
        for example in violation.examples:
            err_console.print(f"  {json.dumps(example, default=str)}")
    raise typer.Exit(code=1)
