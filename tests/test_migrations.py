"""The schema built by the migrations is exactly the models: no drift."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from trofast.migrate import current_revision, head_revision
from trofast.models import Base


def test_database_is_at_the_single_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
