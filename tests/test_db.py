"""The engine Trofast builds: what its PostgreSQL connections are set to."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from trofast.config import Settings
from trofast.db import build_engine


def test_postgresql_connections_have_jit_off_unless_asked(
    engine: Engine, settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
    allowed = build_engine(settings.model_copy(update={"database_jit": True}))
    try:
        with allowed.connect() as conn:
            # The server's own setting (on by default), no longer overridden per connection.
            server_default = conn.execute(
                text("SELECT reset_val FROM pg_settings WHERE name = 'jit'")
            )
            assert conn.execute(text("SHOW jit")).scalar() == server_default.scalar()
    finally:
        allowed.dispose()
