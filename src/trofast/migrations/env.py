"""Alembic environment: runs on the engine handed over by `trofast.migrate` or the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from trofast.config import Settings
from trofast.db import build_engine
from trofast.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = build_engine(Settings(database_url=url) if url else Settings())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
