"""Special functions the models need in log space, and input compression."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

Vector = NDArray[np.float64]

_MAX_TERMS = 5000


def log_hyp2f1_1b(b: Vector, c: Vector, z: Vector) -> Vector:
    """``log 2F1(1, b; c; z)`` for ``0 <= z < 1`` and ``0 < b < c``, elementwise.

    The series ``sum_k (b)_k / (c)_k z^k`` has positive terms whose ratio ``(b+k)/(c+k) z``
    stays below ``z``; it is summed with each row rescaled by its running total, so the result
    is finite for any ``b`` and ``c`` (customers with thousands of purchases included). The tail
    after the last term is bounded by the geometric series and added.
    """
    b, c, z = np.broadcast_arrays(b, c, z)
    term = np.ones(b.shape)
    total = np.ones(b.shape)
    active = np.flatnonzero(z > 0)
    k = 0
    while active.size and k < _MAX_TERMS:
        term[active] *= (b[active] + k) / (c[active] + k) * z[active]
        total[active] += term[active]
        k += 1
        active = active[term[active] > 1e-17 * total[active]]
    if active.size:
        ratio = (b[active] + k) / (c[active] + k) * z[active]
        total[active] += term[active] * ratio / (1 - ratio)
    out: Vector = np.log(total)
    return out


def compress(
    x: Vector, t_x: Vector, T: Vector, weights: Vector | None = None
) -> tuple[Vector, Vector, Vector, Vector]:
    """Collapse customers with identical ``(x, t_x, T)`` into one row with a count weight.

    The likelihood only depends on these three numbers, so this changes nothing but the cost:
    on a daily summary of a million customers it typically removes most rows.
    """
    frame = pl.DataFrame(
        {"x": x, "t_x": t_x, "T": T, "w": np.ones_like(x) if weights is None else weights}
    )
    # maintain_order: the same data must give the same floating-point sums, hence the same fit
    grouped = frame.group_by("x", "t_x", "T", maintain_order=True).agg(pl.col("w").sum())
    return (
        grouped["x"].to_numpy(),
        grouped["t_x"].to_numpy(),
        grouped["T"].to_numpy(),
        grouped["w"].to_numpy(),
    )
