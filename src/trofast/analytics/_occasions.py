"""Per-customer aggregates of purchase occasions (customer-days) from order-level arrays.

`summarize` needs, per customer, the number of distinct purchase days, the first and last of
them, the total spend and the spend on the first day. Grouping the order log by (customer, day)
and then by customer hashes every row twice; on ten million orders that dominated the pipeline.
Here each order gets one integer key ``customer_code * n_days + day`` and a single sort of that
key (a SIMD sort of plain integers in numpy) gives the distinct customer-days in customer order;
everything else is a linear pass (``np.bincount``) over the orders.

Assumptions
-----------
- Customers are mapped to dense codes ``0..n-1`` that preserve the order of their ids, so the
  result comes out sorted by customer id: integer ids whose range is not much larger than the
  number of orders are offset by their minimum (no hashing at all), any other ids are ranked.
- Days are whole days (``Date`` as days since the epoch); amounts are float64 and nulls count
  as 0, as in a Polars sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

# Integer ids spanning at most this many times the number of orders are used as codes directly
# (offset by the minimum): the per-code arrays then cost at most a few bytes per order.
_DENSE_ID_SPAN = 4
# Keys below this fit in uint32, which halves the memory of the key and sorts faster.
_UINT32_KEYS = 2**32


@dataclass(frozen=True)
class CustomerDays:
    """Aggregates per customer with at least one order, in customer-id order."""

    customer_id: pl.Series
    occasions: NDArray[np.int64]  # distinct purchase days
    first_day: NDArray[np.int64]  # days since the epoch
    last_day: NDArray[np.int64]
    total: NDArray[np.float64]  # spend over all occasions
    first_total: NDArray[np.float64]  # spend on the first day


def _dense_codes(ids: pl.Series) -> tuple[NDArray[np.intp], pl.Series]:
    """Order-preserving dense codes per order and the customer id of each code.

    The codes are ``intp``, the index type `np.bincount` works in: any narrower type would be
    converted to a fresh 8-byte copy on every call.
    """
    low, high = ids.min(), ids.max()
    dense_limit = _DENSE_ID_SPAN * ids.len() + 1024
    if isinstance(low, int) and isinstance(high, int) and high - low < dense_limit:
        wide = ids if ids.dtype == pl.UInt64 else ids.cast(pl.Int64)  # no overflow in ids - low
        offsets = pl.int_range(0, high - low + 1, eager=True).cast(ids.dtype)
        return (wide - low).to_numpy().astype(np.intp, copy=False), offsets + pl.Series(
            [low], dtype=ids.dtype
        )
    # Sparse or non-integer ids: rank them (a sort), which keeps the id order.
    codes = (ids.rank("dense") - 1).to_numpy().astype(np.intp, copy=False)
    return codes, ids.unique().sort()


def customer_days(orders: pl.DataFrame) -> CustomerDays:
    """Aggregate orders (``customer_id``, ``day`` as Int32 days since the epoch, ``amount`` as
    Float64) per customer; no nulls in ``customer_id`` or ``day``.

    The columns are taken out of ``orders`` as they are converted, so the frame and its numpy
    copy are not both held at the peak.
    """
    codes, code_ids = _dense_codes(orders.drop_in_place("customer_id"))
    n_codes = code_ids.len()
    day = orders.drop_in_place("day").cast(pl.Int32).to_numpy(writable=True)
    amounts = orders.drop_in_place("amount")
    amount = (amounts.fill_null(0.0) if amounts.null_count() else amounts).to_numpy()
    del amounts
    day0 = int(day.min())
    day -= day0
    n_days = int(day.max()) + 1
    key_type = np.uint32 if n_codes * n_days < _UINT32_KEYS else np.uint64
    keys: NDArray[np.unsignedinteger[Any]] = codes.astype(key_type)
    keys *= n_days
    keys += day.view(np.uint32) if key_type is np.uint32 else day.astype(key_type)
    keys.sort()
    # Fresh pages cost more than the arithmetic here (on a VM each first touch faults, and
    # the fault time varied 0.1-1.3 s for this function), so two order-sized buffers are
    # reused: ``flags`` for every boolean mask, ``keys`` once its values are read.
    flags = np.empty(keys.size, dtype=bool)
    flags[0] = True
    np.not_equal(keys[1:], keys[:-1], out=flags[1:])
    day_keys = keys[flags]  # distinct customer-days, in customer order
    code_of_key = np.floor_divide(day_keys, n_days, out=keys[: day_keys.size])
    new_customer = flags[: day_keys.size]
    new_customer[0] = True
    np.not_equal(code_of_key[1:], code_of_key[:-1], out=new_customer[1:])
    starts = np.flatnonzero(new_customer)
    present = code_of_key[starts].astype(np.int64)
    ends = np.append(starts[1:], day_keys.size)
    first = (day_keys[starts] % n_days).astype(np.int64)
    last = (day_keys[ends - 1] % n_days).astype(np.int64)
    del day_keys, code_of_key, new_customer
    total = np.bincount(codes, weights=amount, minlength=n_codes)
    # spend on the first day: only those orders (about one per customer) go through bincount
    first_by_code = np.zeros(n_codes, dtype=np.int32)
    first_by_code[present] = first
    first_of_order = np.take(first_by_code, codes, out=keys.view(np.int32)[: codes.size])
    on_first_day = np.equal(day, first_of_order, out=flags)
    first_total = np.bincount(codes[on_first_day], weights=amount[on_first_day],
                              minlength=n_codes)  # fmt: skip
    return CustomerDays(
        customer_id=code_ids.gather(present),
        occasions=(ends - starts).astype(np.int64),
        first_day=first + day0,
        last_day=last + day0,
        total=total[present].astype(np.float64, copy=False),
        first_total=first_total[present].astype(np.float64, copy=False),
    )
