"""Load the demo shop into the configured database through the normal ingestion path."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files

from pydantic import TypeAdapter
from rich.progress import Progress
from sqlalchemy import Engine, func, select

from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.cli.context import console, engine_scope, session_scope
from trofast.config import get_settings
from trofast.db import build_sessionmaker, run_job
from trofast.demo.actions import action_events
from trofast.demo.generator import generate
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.service import apply_events
from trofast.kit.time import utc_now
from trofast.ledger import jobs
from trofast.migrate import upgrade
from trofast.models import Event, Order
from trofast.program import actions, service, tiering

_EVENT: TypeAdapter[CanonicalEvent] = TypeAdapter(CanonicalEvent)
BATCH = 500


def load_demo(customers: int, seed: int) -> None:
    settings = get_settings()
    with engine_scope(settings) as engine:
        upgrade(engine)
        if _already_loaded(engine):
            console.print("demo shop already loaded; keeping it")
        else:
            end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            with session_scope(engine) as session:
                # The programme first, so the orders earn points as they are ingested.
                text = files("trofast.demo").joinpath("programme.yaml").read_text()
                service.apply(session, text, note="the demo shop's sample programme")
            raw = [*generate(customers, seed, end), *action_events(customers, seed, end)]
            # Customers before their actions: an action resolves the customer it names.
            raw.sort(key=lambda e: (e["occurred_at"], e["idempotency_key"]))
            events = [_EVENT.validate_python(e) for e in raw]
            with Progress(console=console) as progress:
                task = progress.add_task("loading demo shop", total=len(events))
                for offset in range(0, len(events), BATCH):
                    batch = events[offset : offset + BATCH]
                    with session_scope(engine) as session:
                        apply_events(session, batch, None, currency=settings.currency)
                    progress.advance(task, len(batch))
            factory, now = build_sessionmaker(engine), utc_now()
            settled, expired, reviewed, birthdays = (
                run_job(factory, job, now)
                for job in (jobs.SETTLE, jobs.EXPIRE, tiering.REVIEW, actions.BIRTHDAYS)
            )
            console.print(
                f"programme jobs: {settled} lot(s) settled, {expired} expired, "
                f"{reviewed} tier review(s), {birthdays} birthday bonus(es)"
            )
        with session_scope(engine) as session:
            orders = session.scalar(select(func.count()).select_from(Order)) or 0
            key = auth.create_key(session, "demo admin", [Scope.admin]).secret
    console.print(f"{orders} orders in the demo shop")
    console.print(f"admin API key for the demo (shown once): [bold green]{key}[/bold green]")


def _already_loaded(engine: Engine) -> bool:
    with session_scope(engine) as session:
        first = session.scalar(
            select(Event.id).where(Event.idempotency_key == "demo:customer:1").limit(1)
        )
    return first is not None
