from __future__ import annotations

import typer

from trofast.cli.context import console, engine_scope
from trofast.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="Database schema: create or upgrade the tables.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision; `head` is the newest."),
) -> None:
    """Create or upgrade the database in TROFAST_DATABASE_URL to the newest schema."""
    with engine_scope() as engine:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    console.print(f"database schema: {before or 'empty'} → [bold]{after}[/bold]")


@app.command("status")
def status_command() -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    with engine_scope() as engine:
        console.print(f"database: {current_revision(engine) or 'empty'}  newest: {head_revision()}")
