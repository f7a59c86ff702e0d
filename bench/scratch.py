"""The benchmarks' own PostgreSQL databases, created fresh on TROFAST_BENCH_PG (default the
local server) and named by prefix and time, so that runs never share data."""

from __future__ import annotations

import atexit
import os
import subprocess
import time

PG = os.environ.get("TROFAST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def fresh_database(prefix: str = "trofast_bench", *, keep: bool = False) -> str:
    """Create an empty database and return its URL. Unless `keep`, it is dropped when the
    benchmark's process exits, with whatever connections a server it started left open."""
    name = f"{prefix}_{int(time.time())}"
    _psql(f"CREATE DATABASE {name}", check=True)
    if not keep:
        atexit.register(_psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return f"{PG}/{name}"


def _psql(statement: str, check: bool = False) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-qc", statement], check=check)
