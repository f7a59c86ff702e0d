"""`trofast program`: apply and inspect the loyalty programme, run its time-driven jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer
from rich.table import Table

from trofast.cli.context import (
    console,
    engine_scope,
    err_console,
    print_table,
    run_due_job,
    session_scope,
)
from trofast.cli.program_backtest import backtest
from trofast.program import actions, document, service, tiering
from trofast.program.document import Programme
from trofast.program.errors import InvalidProgramme, NoProgramme, ProgrammeVersionNotFound
from trofast.referral import flow as referral_flow

program_app = typer.Typer(
    help="The loyalty programme: apply a document, show it, run tier reviews and birthdays.",
    no_args_is_help=True,
)

FileArg = typer.Argument(..., exists=True, dir_okay=False, help="A programme in YAML or JSON.")


def _format(path: Path) -> Literal["yaml", "json"]:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def _report_invalid(exc: InvalidProgramme) -> None:
    err_console.print(f"[bold red]{exc.message}[/bold red]")
    for error in exc.detail["errors"]:
        err_console.print(f"  {error['path'] or '(document)'}: {error['reason']}")


@program_app.command("validate")
def validate(file: Path = FileArg) -> None:
    """Check a programme document without applying it; exit 1 with each problem if invalid."""
    try:
        programme = document.load(file.read_bytes(), fmt=_format(file))
    except InvalidProgramme as exc:
        _report_invalid(exc)
        raise typer.Exit(code=1) from None
    levels = len(programme.tiers.levels) if programme.tiers else 0
    console.print(f"{file}: valid ({len(programme.earning)} rule(s), {levels} tier level(s))")


@program_app.command("apply")
def apply(
    file: Path = FileArg,
    note: str = typer.Option(None, help="Why this version (kept with it)."),
) -> None:
    """Validate a document and make it the programme in force, as a new version.

    Applying the same document again changes nothing, so this can run on every deploy.
    """
    try:
        with engine_scope() as engine, session_scope(engine) as session:
            applied = service.apply(session, file.read_bytes(), fmt=_format(file), note=note)
            number, created = applied.row.version, applied.created
    except InvalidProgramme as exc:
        _report_invalid(exc)
        raise typer.Exit(code=1) from None
    if created:
        console.print(f"programme version {number} applied from {file}")
    else:
        console.print(f"unchanged: {file} equals version {number}, in force")


@program_app.command("show")
def show(
    version: int = typer.Option(None, help="A version number (default: the one in force)."),
    as_json: bool = typer.Option(False, "--json", help="Print the document as JSON."),
    source: bool = typer.Option(
        False, "--source", help="Print the document as it was applied, comments and all."
    ),
) -> None:
    """Show the programme in force (or another version) with its rules and tiers."""
    try:
        with engine_scope() as engine, session_scope(engine) as session:
            number = version or service.require_active(session).version
            row = service.get_version(session, number)
            programme = service.programme_of(session, number)
            created_at, source_text = row.created_at, row.source_text
    except (NoProgramme, ProgrammeVersionNotFound) as exc:
        err_console.print(f"[bold red]{exc.message}[/bold red] ({exc.code})")
        raise typer.Exit(code=1) from None
    if as_json:
        console.print_json(json.dumps(programme.model_dump(mode="json")))
        return
    if source:
        # Verbatim, not through Rich, which would wrap long lines and read `[...]` as markup.
        typer.echo(source_text, nl=False)
        return
    console.print(f"[bold]{programme.name}[/bold], version {number} of {created_at:%Y-%m-%d}")
    rules = Table("rule", "kind", "what")
    for rule in programme.earning:
        what = rule.model_dump(exclude={"id", "kind", "description"}, exclude_none=True)
        rules.add_row(rule.id, rule.kind, json.dumps(what, default=str))
    print_table(rules)
    if programme.tiers is not None:
        levels = Table("level", "name", "threshold", "retain", "multiplier")
        for level in programme.tiers.levels:
            levels.add_row(
                level.id, level.name, str(level.threshold), str(level.keep_at),
                str(level.multiplier),
            )  # fmt: skip
        console.print(f"tiers on {_metric(programme)}, {programme.tiers.period}")
        print_table(levels)


def _metric(programme: Programme) -> str:
    assert programme.tiers is not None
    if programme.tiers.metric == "points":
        return "points"
    rates = "".join(f", {code} at {rate}" for code, rate in programme.tiers.rates.items())
    return f"spend in {programme.currency} (minor units{rates})"


@program_app.command("review-tiers")
def review_tiers() -> None:
    """Run the due tier reviews (downgrades happen only here, at the end of a period)."""
    console.print(f"did {run_due_job(tiering.REVIEW)} tier review(s)")


@program_app.command("birthdays")
def birthdays() -> None:
    """Give today's birthday bonuses (once a year per member; safe to run more often)."""
    console.print(f"gave {run_due_job(actions.BIRTHDAYS)} birthday bonus(es)")


@program_app.command("referrals")
def referrals() -> None:
    """Reward referrals whose friend's first order passed its return window (safe to rerun)."""
    console.print(f"completed {run_due_job(referral_flow.COMPLETE)} referral(s)")


program_app.command("backtest")(backtest)
