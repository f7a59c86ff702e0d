from __future__ import annotations

import typer
from rich.table import Table

from trofast.cli.context import engine_scope, print_table, session_scope
from trofast.config import get_settings
from trofast.ingest import repository
from trofast.ingest.replay import replay_delivery

app = typer.Typer(help="The delivery log: inspect and replay deliveries.", no_args_is_help=True)


@app.command("replay")
def replay(
    delivery_id: list[int] = typer.Option(
        [], "--id", help="Replay this delivery (repeat for several)."
    ),
    failed: bool = typer.Option(False, "--failed", help="Replay every failed delivery."),
    limit: int = typer.Option(1000, help="At most this many deliveries with --failed."),
) -> None:
    """Normalise and apply stored deliveries again, e.g. after fixing a bug.

    Events that were applied before are recognised by their idempotency keys and skipped,
    so replaying is always safe. Each delivery is replayed in its own transaction.
    """
    if not delivery_id and not failed:
        raise typer.BadParameter("give --id N or --failed")
    settings = get_settings()
    table = Table("delivery", "channel", "topic", "status", "error")
    with engine_scope(settings) as engine:
        with session_scope(engine) as session:
            ids = list(delivery_id) or [
                d.id for d in repository.deliveries(session, status="failed", limit=limit)
            ]
        for one in ids:
            with session_scope(engine) as session:
                delivery = repository.get_delivery(session, one)
                if delivery is None:
                    table.add_row(str(one), "", "", "not found", "")
                    continue
                replay_delivery(session, delivery, settings)
                table.add_row(
                    str(one),
                    delivery.channel,
                    delivery.topic,
                    delivery.status,
                    delivery.error or "",
                )
    print_table(table)


@app.command("log")
def log(
    status: str | None = typer.Option(None, help="Only this status: processed, failed, ..."),
    limit: int = typer.Option(50, help="How many to show."),
) -> None:
    """Show the newest deliveries with their status and error."""
    with engine_scope() as engine, session_scope(engine) as session:
        rows = repository.deliveries(session, status=status, limit=limit)
        table = Table("id", "received", "channel", "topic", "status", "events", "error")
        for d in rows:
            table.add_row(
                str(d.id),
                f"{d.received_at:%Y-%m-%d %H:%M:%S}",
                d.channel,
                d.topic,
                d.status,
                str(d.event_count),
                d.error_code or "",
            )
    print_table(table)
