"""Stream an import file as chunks of text columns named after the mapping's fields.

Every column is read as text, never inferred: an id above 2**53 or an amount like 0.1 must
reach the normaliser exactly as it was written. Files are read lazily by Polars in batches,
so memory stays bounded by the batch size, not the file size.

A chunk never splits an order: the rows of the last order of a batch are held back and
start the next chunk, so each order (and each customer/date group of a file without order
ids) is loaded whole, in one transaction. This needs the rows of one order to be next to each
other, which every shop export does; a file where they are not is refused, because a second
part of an order would otherwise be skipped as "already imported".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from trofast.imports.errors import ImportFileError
from trofast.imports.mapping import ColumnMapping, ImportOptions, resolve_mapping

LINE = "_line"  # the row's line number in the file (1-based, header counted), for messages
_ID_FIELDS = ("order_id", "line_id", "customer_id")
# CDNOW ships without a header in its 1/10 sample; these are the papers' column names.
_WHITESPACE_NAMES = {
    4: ["customer_id", "date", "number_of_cds", "dollar_value"],
    5: ["master_id", "sample_id", "date", "number_of_cds", "dollar_value"],
}


@dataclass(frozen=True)
class ImportFile:
    path: Path
    mapping: ColumnMapping
    frame: pl.LazyFrame  # mapped fields as text columns, plus LINE

    def row_count(self) -> int:
        return int(self.frame.select(pl.len()).collect().item())


def file_format(path: Path, requested: str) -> str:
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".txt", ".dat"}:
        return "whitespace"
    return "csv"


def open_file(path: Path, options: ImportOptions) -> ImportFile:
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}", code="file_not_found")
    kind = file_format(path, options.file_format)
    if kind == "parquet":
        raw = _scan_parquet(path)
    elif kind == "whitespace":
        raw = _scan_whitespace(path)
    else:
        raw = pl.scan_csv(
            path,
            separator=options.separator,
            infer_schema=False,
            row_index_name=LINE,
            row_index_offset=2,
            encoding="utf8-lossy",
        )
    headers = [name for name in raw.collect_schema().names() if name != LINE]
    mapping = resolve_mapping(headers, options.overrides)
    frame = raw.select(
        pl.col(LINE).cast(pl.Int64),
        *(pl.col(column).alias(name) for name, column in mapping.columns.items()),
    )
    return ImportFile(path=path, mapping=mapping, frame=frame)


def _scan_parquet(path: Path) -> pl.LazyFrame:
    frame = pl.scan_parquet(path, row_index_name=LINE, row_index_offset=1)
    schema = frame.collect_schema()
    for name, dtype in schema.items():
        if name != LINE and dtype.is_float() and _looks_like_id(name):
            # A float id has already lost digits (Shopify ids exceed 2**53).
            raise ImportFileError(
                f"column {name!r} holds ids as floating point numbers; store them as text",
                code="float_id",
            )
    return frame.with_columns(pl.exclude(LINE).cast(pl.String))


def _looks_like_id(column: str) -> bool:
    return bool(re.search(r"(^|_)id$|^order$|^customer$|number$", column.lower()))


def _scan_whitespace(path: Path) -> pl.LazyFrame:
    """A file of whitespace-separated columns, like the CDNOW logs (leading spaces, CRLF)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = next((line.split() for line in handle if line.strip()), [])
    has_header = bool(first) and not re.fullmatch(r"[\d.+-]+", first[0])
    names = first if has_header else _WHITESPACE_NAMES.get(len(first))
    if names is None:
        names = [f"column_{i + 1}" for i in range(len(first))]
    # One text column per line (the unit separator never occurs in such files), split here.
    lines = pl.scan_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        infer_schema=False,
        new_columns=["text"],
        skip_rows=1 if has_header else 0,
        row_index_name=LINE,
        row_index_offset=2 if has_header else 1,
    )
    tokens = pl.col("text").str.strip_chars().str.extract_all(r"\S+")
    return lines.filter(pl.col("text").str.strip_chars() != "").select(
        pl.col(LINE),
        *(tokens.list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(names)),
    )


def group_key(mapping: ColumnMapping) -> pl.Expr:
    """The rows that must stay in one chunk: an order, or a customer's rows of one date."""
    if mapping.has("order_id"):
        return pl.col("order_id").fill_null("")
    who = [pl.col(f) for f in ("customer_id", "email", "phone") if mapping.has(f)]
    return pl.concat_str([*who, pl.col("placed_at")], separator="\x1f", ignore_nulls=True)


def chunks(source: ImportFile, size: int) -> Iterator[pl.DataFrame]:
    """Chunks of about `size` rows that never split an order (see the module docstring)."""
    key = group_key(source.mapping)
    held: list[pl.DataFrame] = []
    held_rows = 0
    seen = pl.Series("seen", [], dtype=pl.UInt64)
    for batch in source.frame.collect_batches(chunk_size=size):
        held.append(batch)
        held_rows += batch.height
        if held_rows < size:
            continue
        frame = pl.concat(held)
        head, tail = _split_last_group(frame, key)
        held, held_rows = [tail], tail.height
        if head.height:
            seen = _check_contiguous(head, key, seen)
            yield head
    if held_rows:
        frame = pl.concat(held)
        _check_contiguous(frame, key, seen)
        yield frame


def _split_last_group(frame: pl.DataFrame, key: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    keys = frame.select(key.alias("k")).to_series()
    other = keys.ne_missing(keys[-1]).reverse().arg_true()
    run = frame.height if other.is_empty() else int(other[0])
    return frame.head(frame.height - run), frame.tail(run)


def _check_contiguous(frame: pl.DataFrame, key: pl.Expr, seen: pl.Series) -> pl.Series:
    hashes = frame.select(key.alias("k"), pl.col(LINE)).unique(
        "k", keep="first", maintain_order=True
    )
    hashed = hashes.get_column("k").hash(seed=0)
    again = hashed.is_in(seen.implode())
    if again.any():
        line = int(hashes.get_column(LINE).filter(again)[0])
        raise ImportFileError(
            f"line {line}: the rows of this order are not next to each other in the file; "
            "sort it by order id (or by customer and date when it has no order ids)",
            code="order_rows_not_contiguous",
            detail={"line": line},
        )
    return pl.concat([seen, hashed])
