"""Read a fixture file the way `trofast import orders` does, without a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from trofast.imports.mapping import ImportOptions, parse_overrides
from trofast.imports.normalise import Chunk, normalise
from trofast.imports.reader import ImportFile, chunks, open_file

FIXTURES = Path(__file__).parent / "fixtures"


def options(*maps: str, **values: Any) -> ImportOptions:
    values.setdefault("source", "import:test")
    return ImportOptions(overrides=parse_overrides(maps), **values)


def read(path: Path, opts: ImportOptions) -> tuple[ImportFile, list[Chunk]]:
    source = open_file(path, opts)
    return source, [normalise(f, source.mapping, opts) for f in chunks(source, opts.batch_size)]


def read_all(path: Path, opts: ImportOptions) -> Chunk:
    _, parts = read(path, opts)
    return Chunk(
        orders=pl.concat([c.orders for c in parts]),
        lines=pl.concat([c.lines for c in parts]),
        rows=sum(c.rows for c in parts),
    )
