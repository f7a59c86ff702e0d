"""`trofast`: serve the API, load the demo shop, manage keys, sources and data."""

from __future__ import annotations

import typer

from trofast.cli import analytics, analyze, db, imports, ingest, keys, ledger, program, sources
from trofast.cli.serve import run_server

app = typer.Typer(
    help="Trofast: customer loyalty and retention for shops online and in stores.\n\n"
    "Configuration comes from TROFAST_* environment variables or a .env file; "
    "TROFAST_DATABASE_URL picks the database (default: SQLite in ./.trofast/).",
    no_args_is_help=True,
)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(sources.app, name="sources")
app.add_typer(ingest.app, name="ingest")
app.add_typer(imports.app, name="import")
app.add_typer(ledger.app, name="ledger")
app.add_typer(program.program_app, name="program")
app.add_typer(analytics.app, name="analytics")
# `trofast analyze FILE` is one command, registered directly rather than as a group.
app.command("analyze")(analyze.analyze)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL only for more than 1)."),
) -> None:
    """Upgrade the database schema and serve the API (docs at /docs)."""
    run_server(host, port, workers)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    customers: int = typer.Option(3000, help="How many customers the demo shop has."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same shop."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Serve after loading."),
) -> None:
    """Load a generated demo shop (a year of web and store orders) and serve it."""
    from trofast.demo.loader import load_demo

    load_demo(customers=customers, seed=seed)
    if serve_after:
        run_server(host, port)


if __name__ == "__main__":
    app()
