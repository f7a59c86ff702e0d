"""Engines and sessions.

Engines are built when the app or a CLI command starts, never at import time. One unit of
work per request, command, or batch of a time-driven job (`run_job`): services only
`flush()`, the boundary commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from trofast.config import Settings

log = logging.getLogger(__name__)


def build_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Sync endpoints run on AnyIO's 40 worker threads; with fewer connections than
    # threads, threads waiting for a connection can starve the one that must commit
    # to release its locks, and every request stalls until the pool timeout.
    pool = {
        "pool_size": settings.database_pool_size,
        "max_overflow": max(40 - settings.database_pool_size, settings.database_pool_size),
    }
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=settings.database_echo, pool=pool)
    return create_engine(url, echo=settings.database_echo, pool_pre_ping=True, **pool)


def _sqlite_engine(url: str, *, echo: bool, pool: dict[str, int]) -> Engine:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": 60, "check_same_thread": False},
        **(pool if path and path != ":memory:" else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; we take it
        # over (SQLAlchemy's documented workaround) so tests can roll back per test.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite drops FOR UPDATE silently; taking the write lock at BEGIN makes concurrent
        # writers queue on busy_timeout instead of failing with "database is locked" when a
        # read lock would have to be upgraded mid-transaction.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def build_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# PostgreSQL deadlock and serialization failures: the transaction may simply be run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


@dataclass(frozen=True, slots=True)
class Job:
    """Time-driven work: the ids (members, referrals) due at `now`, and the work for some.

    `run` takes its ids in ascending order, locks each row as it goes and must be safe to
    run again for an id it already did (its ledger writes are keyed).
    """

    name: str
    due: Callable[[Session, datetime], list[int]]
    run: Callable[[Session, Sequence[int], datetime], int]

    def run_all(self, session: Session, now: datetime) -> int:
        """Everything due at `now`, in the caller's transaction (tests, the state machine);
        `run_job` is the way to run a job beside the API."""
        return self.run(session, self.due(session, now), now)


JOB_BATCH = 200
_ATTEMPTS = 3


def run_job(
    factory: sessionmaker[Session], job: Job, now: datetime, *, batch: int = JOB_BATCH
) -> int:
    """Run a job over every id due at `now`, `batch` ids per unit of work.

    A job is safe to run beside the API only if it holds members' locks briefly: in one
    transaction, every order event of a member it had reached would wait for the whole run
    (minutes for a large shop's hourly settle). Each batch commits on its own, so a crash
    keeps the batches done and the next run does the rest. A batch that loses a deadlock
    to a request (which locks its members in event order) is run again.
    """
    with unit_of_work(factory) as session:
        due = job.due(session, now)
    done = 0
    for first in range(0, len(due), batch):
        chunk = due[first : first + batch]
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with unit_of_work(factory) as session:
                    count = job.run(session, chunk, now)
                # Counted once committed: a batch whose commit failed is run again.
                done += count
                break
            except OperationalError as exc:
                if not is_retryable(exc) or attempt == _ATTEMPTS:
                    raise
                log.warning("%s: batch from id %s retried after a deadlock", job.name, chunk[0])
    return done
