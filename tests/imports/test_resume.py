"""Chunks commit one by one: an interrupted import resumes, a repeated one changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.imports.helpers import options
from trofast.cli.imports import run_import
from trofast.imports.errors import ImportFileError
from trofast.imports.reader import open_file
from trofast.imports.service import ChunkResult
from trofast.models import Customer, CustomerIdentity, Order, OrderLine


class Interrupted(Exception):
    pass


def _file(tmp_path: Path, orders: int, bad_order: int | None = None) -> Path:
    rows = ["order_id,customer_id,date,sku,quantity,unit_price"]
    for n in range(1, orders + 1):
        price = "12.345" if n == bad_order else f"{n}.50"
        rows.append(f"O-{n},C-{n % 7},2024-01-{n % 28 + 1:02d},A,1,{price}")
        rows.append(f"O-{n},C-{n % 7},2024-01-{n % 28 + 1:02d},B,2,1.25")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _state(engine: Engine) -> tuple[int, int, int, int, int]:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Customer)) or 0,
            session.scalar(select(func.count()).select_from(CustomerIdentity)) or 0,
            session.scalar(select(func.count()).select_from(Order)) or 0,
            session.scalar(select(func.count()).select_from(OrderLine)) or 0,
            session.scalar(select(func.sum(Order.total_minor))) or 0,
        )


EXPECTED = (7, 7, 30, 60, sum(n * 100 + 50 + 250 for n in range(1, 31)))


def test_an_interrupted_import_resumes_where_it_stopped(
    committed_engine: Engine, tmp_path: Path
) -> None:
    opts = options(batch_size=10)  # 5 orders (10 rows) per chunk: 6 chunks
    source = open_file(_file(tmp_path, 30), opts)
    seen: list[ChunkResult] = []

    def stop_after_two(result: ChunkResult) -> None:
        seen.append(result)
        if len(seen) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_import(committed_engine, source, opts, stop_after_two)
    done = sum(r.orders_inserted for r in seen)
    assert 8 <= done <= 10  # a chunk holds back an order that might continue in the next batch
    assert _state(committed_engine)[2:4] == (done, 2 * done)

    resumed = run_import(committed_engine, source, opts)

    assert (resumed.orders_skipped, resumed.orders_inserted) == (done, 30 - done)
    assert resumed.lines_inserted == 2 * (30 - done)
    assert _state(committed_engine) == EXPECTED

    again = run_import(committed_engine, source, opts)

    assert (again.orders_inserted, again.lines_inserted, again.customers_created) == (0, 0, 0)
    assert again.orders_skipped == 30
    assert _state(committed_engine) == EXPECTED


def test_a_bad_row_keeps_earlier_chunks_and_writes_nothing_of_its_own(
    committed_engine: Engine, tmp_path: Path
) -> None:
    opts = options(batch_size=10)
    source = open_file(_file(tmp_path, 30, bad_order=13), opts)

    with pytest.raises(ImportFileError) as caught:
        run_import(committed_engine, source, opts)

    assert caught.value.code == "invalid_amount_precision"
    with Session(committed_engine) as session:
        ids = set(session.scalars(select(Order.external_id)))
    done = len(ids)
    # Whole chunks before the bad one, and nothing of the chunk with order 13.
    assert 8 <= done < 13
    assert ids == {f"O-{n}" for n in range(1, done + 1)}
    assert _state(committed_engine)[3] == 2 * done

    fixed = open_file(_file(tmp_path, 30), opts)
    resumed = run_import(committed_engine, fixed, opts)

    assert (resumed.orders_skipped, resumed.orders_inserted) == (done, 30 - done)
    assert _state(committed_engine) == EXPECTED
