"""COPY in and out of PostgreSQL for the bulk import, with Polars on the client side.

Rows cross the wire as CSV that Polars writes and reads in Rust. The row-at-a-time paths
this replaces cost more on the client than the server's work: psycopg dumps a Python list
into an array parameter element by element (a regular expression per string; ~17 ms per
40k keys), and SQLAlchemy fetches results row by row (~2 µs a row).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import LiteralString

import polars as pl
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.orm import Session

_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.6f+00:00"  # the frames' timestamps are UTC


def copy_in(session: Session, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into `table` as CSV: Polars writes it, PostgreSQL parses it natively.

    An unquoted empty field is NULL in COPY's CSV format and Polars writes an empty string
    quoted, so text nulls and empty strings survive the trip distinctly.
    """
    payload = io.BytesIO()  # bytes straight from Polars: no str to decode and encode again
    frame.write_csv(
        payload, include_header=False, datetime_format=_TIMESTAMP, quote_style="necessary"
    )
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, frame.columns))
    )
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(payload.getbuffer())


def copy_out(
    session: Session, query: sql.Composable, schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """The rows of a query, COPYed out as CSV and read by Polars (same NULL rule as above)."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
    connection = session.connection().connection.driver_connection
    assert connection is not None
    buffer = bytearray()
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for data in copy:
            buffer += data
    if not buffer:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(bytes(buffer), has_header=False, schema=schema)


def next_ids(session: Session, table: LiteralString, count: int) -> pl.Series:
    """`count` ids from the table's sequence, in one round trip and one array value."""
    # The sequence is looked up once (OFFSET 0 keeps the subquery from being inlined):
    # per row, pg_get_serial_sequence cost 8x the nextval itself (400 vs 50 ms for 40k ids).
    # One binary int8[] is read in C; as 40k rows it cost ten times the client CPU.
    query = sql.SQL(
        "SELECT array_agg(nextval(q.seq)) FROM (SELECT pg_get_serial_sequence({}, 'id')"
        "::regclass AS seq OFFSET 0) AS q, generate_series(1, {})"
    ).format(sql.Literal(table), sql.Literal(count))
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor(binary=True) as cursor:
        row = cursor.execute(query).fetchone()
    return pl.Series("id", row[0] if row and row[0] else [], dtype=pl.Int64)


_KEYS_STAGE = "CREATE TEMP TABLE import_keys (kind text, source text, value text) ON COMMIT DROP"


def lookup(
    session: Session, keys: pl.DataFrame, query: LiteralString, schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """Run `query` over the keys (kind, source, value), staged as the table import_keys."""
    session.execute(text(_KEYS_STAGE))
    # In key order, the probes walk the unique index from left to right instead of at random.
    copy_in(session, "import_keys", keys.select("kind", "source", "value").sort(pl.all()))
    found = copy_out(session, sql.SQL(query), schema)
    session.execute(text("DROP TABLE import_keys"))
    return found
