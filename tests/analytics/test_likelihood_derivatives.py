"""The analytic derivatives the fits rely on, against central differences."""

from __future__ import annotations

import numpy as np
import pytest

from trofast.analytics import bgnbd
from trofast.analytics._mle import central_gradient, hessian_from_gradient


def _customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.poisson(2.0, n).astype(np.float64)
    big_t = rng.uniform(5, 50, n).round()  # whole days: the grid path of the objective
    t_x = np.where(x > 0, (rng.uniform(0, 1, n) * big_t).round(), 0.0)
    w = rng.integers(1, 4, n).astype(np.float64)
    return x, t_x, big_t, w


@pytest.mark.parametrize(
    "params",
    [(1.2, 40.0, 0.6, 5.0), (0.3, 3.0, 2.0, 0.8), (5.0, 100.0, 0.1, 20.0)],
)
@pytest.mark.parametrize("n", [50, 5000], ids=["continuous", "grid"])
def test_bgnbd_gradient_and_hessian_match_central_differences(
    params: tuple[float, float, float, float], n: int
) -> None:
    x, t_x, big_t, w = _customers(n, seed=3)
    if n == 50:
        big_t = big_t + np.linspace(0.01, 0.5, n)  # distinct values: no grid
    objective = bgnbd._bgnbd_objective(x, t_x, big_t, w)
    theta = np.log(np.array(params))
    grad = objective(theta)[1]
    np.testing.assert_allclose(
        grad, central_gradient(lambda th: objective(th)[0], theta), rtol=1e-5, atol=1e-8
    )
    exact = bgnbd._bgnbd_hessian(x, t_x, big_t, w)(theta)
    numeric = hessian_from_gradient(objective, theta)
    np.testing.assert_allclose(exact, numeric, rtol=0, atol=1e-7 * np.abs(numeric).max())
