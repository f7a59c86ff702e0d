"""Shared fixtures: a migrated test database (SQLite, or PostgreSQL when
TROFAST_TEST_DATABASE_URL is set), a rolled-back session per test, and an API client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from trofast.app import create_app
from trofast.auth import service as auth
from trofast.auth.scopes import Scope
from trofast.config import Environment, Settings
from trofast.db import build_engine
from trofast.migrate import upgrade
from trofast.models import Base

# `HYPOTHESIS_PROFILE=ci` (set by .ci/run): the same examples on every run, so a merge is
# judged on the code, not on the draw; local runs keep drawing new examples to find bugs.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _settings(url: str) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=url,
        currency="NOK",
        shopify_secret=None,
        woocommerce_secret=None,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    url = os.environ.get("TROFAST_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return _settings(url)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The test database, built from the Alembic migrations (never from metadata)."""
    engine = build_engine(settings)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    `join_transaction_mode="create_savepoint"` turns the code's own commit() into a
    savepoint release, so code under test runs unchanged and still leaves nothing behind.
    """
    connection = engine.connect()
    transaction = connection.begin()
    # Configured like production (`db.build_sessionmaker`): without autoflush, a query that
    # depends on unflushed rows fails here as it would in the service.
    session = Session(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """For tests that need real commits (concurrency): every table is emptied afterwards."""
    yield engine
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def app_client(settings: Settings, db_session: Session) -> Iterator[TestClient]:
    """The API on the rolled-back test session."""
    app = create_app(settings, engine=db_session.get_bind())  # type: ignore[arg-type]
    connection = db_session.connection()
    app.state.sessionmaker = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    with TestClient(app) as client:
        yield client


def make_key(session: Session, *scopes: Scope) -> str:
    created = auth.create_key(session, "test", list(scopes))
    session.flush()
    return created.secret


@pytest.fixture
def admin_headers(db_session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db_session, Scope.admin)}"}


@pytest.fixture
def ingest_headers(db_session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db_session, Scope.ingest)}"}


@pytest.fixture
def pos_headers(db_session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db_session, Scope.pos)}"}


@pytest.fixture
def storefront_headers(db_session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db_session, Scope.storefront)}"}
