"""The benchmarks' own PostgreSQL databases, created fresh on TROFAST_BENCH_PG (default the
local server) and named by prefix and time, so that runs never share data."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

PG = os.environ.get("TROFAST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def fresh_database(prefix: str = "trofast_bench") -> str:
    """Create an empty database and return its URL; the caller drops it (or keeps it)."""
    name = f"{prefix}_{int(time.time())}"
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    return f"{PG}/{name}"


@contextmanager
def scratch_database(prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database for the block, dropped after it unless `keep`."""
    url = fresh_database(prefix)
    try:
        yield url
    finally:
        if not keep:
            name = url.rsplit("/", 1)[1]
            subprocess.run(["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE {name}"], check=False)
