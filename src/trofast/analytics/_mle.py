"""Maximum-likelihood machinery shared by the probability models.

Every model is fitted on the logarithm of its (positive) parameters, so the optimiser works
without bounds, and the objective is the *mean* negative log-likelihood per customer, so the
tolerances mean the same thing for 50 customers and for a million.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from trofast.analytics.errors import FitError, InsufficientData, InvalidInput, NotConverged

Vector = NDArray[np.float64]
Objective = Callable[[Vector], tuple[float, Vector]]

# A converged fit has a mean-log-likelihood gradient (per log-parameter) below this.
_GRADIENT_TOLERANCE = 1e-5
# exp(±25) is far outside any parameter value that describes real customers; an estimate
# there means the data cannot identify the parameter (e.g. no one ever drops out).
_LOG_PARAM_LIMIT = 25.0
# Beyond exp(±12) a parameter that is still moving is following a ridge to its boundary.
_RIDGE_LOG_PARAM = 12.0
# math.exp overflows a float above exp(709.78).
_MAX_EXP = 700.0


def as_vector(values: ArrayLike, name: str) -> Vector:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InvalidInput(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"{name} contains missing or infinite values")
    return arr


def dot(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Inner product without BLAS: OpenBLAS threads spin against each other on a busy 2-core
    machine and made a 100k-customer fit 10x slower than this plain multiply-and-sum."""
    return float(np.multiply(a, b).sum())


def central_gradient(fun: Callable[[Vector], float], theta: Vector, step: float = 1e-5) -> Vector:
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        grad[i] = (fun(theta + e) - fun(theta - e)) / (2 * step)
    return grad


def hessian_from_gradient(objective: Objective, theta: Vector, step: float = 1e-4) -> Vector:
    """Central differences of the analytic gradient, symmetrised."""
    k = theta.size
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[i] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * step)
    return (hess + hess.T) / 2


def hessian_from_value(fun: Callable[[Vector], float], theta: Vector, step: float = 1e-4) -> Vector:
    """Central second differences of a scalar function."""
    k = theta.size
    hess = np.empty((k, k))
    f0 = fun(theta)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        hess[i, i] = (fun(theta + ei) - 2 * f0 + fun(theta - ei)) / step**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = step
            hess[i, j] = hess[j, i] = (
                fun(theta + ei + ej)
                - fun(theta + ei - ej)
                - fun(theta - ei + ej)
                + fun(theta - ei - ej)
            ) / (4 * step**2)
    return hess


def _guarded(objective: Objective) -> Objective:
    def guarded(theta: Vector) -> tuple[float, Vector]:
        # Line searches probe extreme parameters where gamma functions underflow; those
        # points are rejected by their value, so the floating-point noise is not news.
        with np.errstate(all="ignore"):
            value, grad = objective(theta)
        if not (math.isfinite(value) and np.all(np.isfinite(grad))):
            return math.inf, np.zeros_like(theta)
        return value, grad

    return guarded


def _lbfgs(objective: Objective, start: Vector) -> optimize.OptimizeResult:
    return optimize.minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_PARAM_LIMIT, _LOG_PARAM_LIMIT)] * start.size,
        options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20},
    )


def warm_start(objective: Objective, x0: Vector) -> Vector:
    """Where the optimiser ends on a cheaper objective (e.g. a subsample): a starting point.

    No convergence checks and no information matrix: the fit that starts here checks
    everything, and falls back to ``x0`` if this point is not finite.
    """
    guarded = _guarded(objective)
    res = _lbfgs(guarded, x0)
    if not (np.all(np.isfinite(res.x)) and math.isfinite(guarded(res.x)[0])):
        return x0
    return np.asarray(res.x, dtype=np.float64)


def minimize_log_params(
    objective: Objective,
    x0: Vector,
    *,
    model: str,
    hessian: Callable[[Vector], Vector],
    n_customers: float,
) -> tuple[optimize.OptimizeResult, Vector]:
    """Minimise the mean negative log-likelihood over log-parameters; raise if it fails.

    Returns the optimiser result and the observed information (Hessian of the *total* negative
    log-likelihood) at the optimum.

    Converged means a flat gradient, or, on the flat ridges small data sets produce, a Newton
    step that would gain less than 0.001 in total log-likelihood: nothing left to find.

    Raises
    ------
    NotConverged
        The optimiser stopped with improvement still available.
    FitError
        The likelihood is not finite at the start, or a parameter runs off to 0 or infinity.
    """

    guarded = _guarded(objective)
    start_value, _ = guarded(x0)
    if not math.isfinite(start_value):
        raise FitError(f"{model}: the log-likelihood is not finite at the starting values")

    def run(start: Vector) -> optimize.OptimizeResult:
        return _lbfgs(guarded, start)

    res = run(x0)
    if not res.success:
        # A failed line search on a flat ridge usually succeeds from a fresh quasi-Newton
        # memory; one restart is cheap next to reporting a false non-convergence.
        res = run(res.x)
    if np.any(np.abs(res.x) > _LOG_PARAM_LIMIT - 0.1):
        raise FitError(
            f"{model}: a parameter ran off to 0 or infinity; the data cannot identify the model",
            detail={"log_params": res.x.tolist()},
        )
    with np.errstate(all="ignore"):
        hess = hessian(res.x) * n_customers
    grad = np.asarray(res.jac, dtype=np.float64) * n_customers
    flat = bool(np.max(np.abs(grad)) <= _GRADIENT_TOLERANCE * n_customers)
    if not flat and math.isfinite(res.fun):
        try:
            gain = 0.5 * float(grad @ np.linalg.solve(hess, grad))
        except np.linalg.LinAlgError:
            gain = math.inf
        flat = 0.0 <= gain < 1e-3
    if not flat and np.any(np.abs(res.x) > _RIDGE_LOG_PARAM):
        # Still climbing towards a boundary, e.g. a, b -> infinity in BG/NBD (everyone has
        # the same dropout probability): the data do not identify that parameter.
        raise FitError(
            f"{model}: a parameter keeps running towards 0 or infinity; the data cannot "
            "identify the model (too little data, or no heterogeneity to estimate)",
            detail={"log_params": res.x.tolist()},
        )
    if not math.isfinite(res.fun) or not flat:
        raise NotConverged(
            f"{model}: the maximum-likelihood fit did not converge ({res.message})",
            detail={"gradient": np.abs(grad).max().item(), "iterations": int(res.nit)},
        )
    return res, hess


def require_customers(n_customers: int, n_repeat: int, *, minimum_repeat: int, model: str) -> None:
    if n_repeat < minimum_repeat:
        raise InsufficientData(
            f"{model} needs at least {minimum_repeat} customers with a repeat purchase; "
            f"this data has {n_repeat} (of {n_customers} customers). "
            "Collect more history or lengthen the calibration period.",
            detail={
                "customers": n_customers,
                "repeat_customers": n_repeat,
                "minimum": minimum_repeat,
            },
        )


@dataclass(frozen=True)
class ParamInterval:
    """An estimate with its standard error and a confidence interval.

    The interval is symmetric on the log scale (the scale of the fit), so it stays positive;
    ``std_error`` is the delta-method standard error on the natural scale.
    """

    name: str
    estimate: float
    std_error: float
    lower: float
    upper: float


class FittedModel:
    """Common state of a maximum-likelihood model: parameters, fit quality, uncertainty."""

    model_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    params_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    covariance_: Vector | None  # of the log-parameters, from the observed information
    unit: str | None

    def __init__(self, *, unit: str | None = None) -> None:
        self.unit = unit

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "params_")

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise FitError(f"{self.model_name}: call fit() first", code="not_fitted")

    def _log_params(self) -> Vector:
        return np.log(np.array([self.params_[n] for n in self.param_names], dtype=np.float64))

    def _store(self, log_params: Vector, log_likelihood: float, n: int, hess: Vector) -> None:
        self.params_ = {
            n: float(v) for n, v in zip(self.param_names, np.exp(log_params), strict=True)
        }
        self.log_likelihood_ = float(log_likelihood)
        self.n_customers_ = int(n)
        self.covariance_ = _invert_information(hess)

    def param_intervals(self, level: float = 0.95) -> dict[str, ParamInterval]:
        """Confidence intervals from the observed information matrix.

        Parameters whose information is singular get infinite intervals: the data say little
        about them, and that is reported rather than hidden.
        """
        self._require_fitted()
        z = float(stats.norm.ppf(0.5 + level / 2))
        out: dict[str, ParamInterval] = {}
        for i, name in enumerate(self.param_names):
            est = self.params_[name]
            if self.covariance_ is None:
                se_log = math.inf
            else:
                se_log = math.sqrt(max(float(self.covariance_[i, i]), 0.0))
            # On a ridge (e.g. BG/NBD's a, b -> infinity) the log-scale error can be so large
            # that exp overflows: such an interval is unbounded, as with singular information.
            bounded = z * se_log < _MAX_EXP
            lo = est * math.exp(-z * se_log) if bounded else 0.0
            hi = est * math.exp(z * se_log) if bounded else math.inf
            out[name] = ParamInterval(name, est, est * se_log, lo, hi)
        return out

    def sample_params(self, n: int, rng: np.random.Generator) -> Vector:
        """Parameter draws from the asymptotic normal of the log-parameters, shape (n, k)."""
        self._require_fitted()
        if self.covariance_ is None:
            raise FitError(
                f"{self.model_name}: no covariance (singular information); cannot draw",
                code="singular_information",
            )
        draws = rng.multivariate_normal(self._log_params(), self.covariance_, size=n)
        return np.exp(draws)

    def with_params(self, values: Vector) -> Self:
        """A copy of this model with other parameter values (used for interval draws)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.params_ = {n: float(v) for n, v in zip(self.param_names, values, strict=True)}
        return clone

    def to_dict(self) -> dict[str, Any]:
        self._require_fitted()
        intervals = self.param_intervals()
        return {
            "model": self.model_name,
            "format": 1,
            "unit": self.unit,
            "params": dict(self.params_),
            "intervals_95": {
                k: {"lower": v.lower, "upper": v.upper if math.isfinite(v.upper) else None}
                for k, v in intervals.items()
            },
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "covariance_log_params": None
            if self.covariance_ is None
            else self.covariance_.tolist(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        if data.get("model") != cls.model_name:
            raise InvalidInput(f"expected a {cls.model_name} model, got {data.get('model')!r}")
        model = cls.__new__(cls)
        FittedModel.__init__(model, unit=data.get("unit"))
        model.params_ = {n: float(data["params"][n]) for n in cls.param_names}
        model.log_likelihood_ = float(data["log_likelihood"])
        model.n_customers_ = int(data["n_customers"])
        cov = data.get("covariance_log_params")
        model.covariance_ = None if cov is None else np.asarray(cov, dtype=np.float64)
        return model

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        if not self.is_fitted:
            return f"<{type(self).__name__} (not fitted)>"
        body = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{type(self).__name__} {body}, LL={self.log_likelihood_:.1f}>"


def _invert_information(hess: Vector) -> Vector | None:
    """Covariance = inverse of the observed information, or None when it is not invertible."""
    if not np.all(np.isfinite(hess)):
        return None
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
    return np.asarray(np.linalg.inv(hess), dtype=np.float64)
