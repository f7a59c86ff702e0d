"""The Gamma-Gamma model of spend per transaction.

Assumptions
-----------
1. A customer's transaction values vary around their mean: each is Gamma(shape ``p``, rate
   ``nu``), so the mean of ``x`` transactions is Gamma(``p x``, ``nu x``).
2. ``nu`` varies across customers as Gamma(``q``, ``gamma``).
3. Spend per transaction is independent of the purchase process (check with the correlation of
   frequency and monetary value before relying on CLV).
4. It is fitted on customers with at least one repeat purchase and a positive mean repeat value;
   customers whose refunds make their repeat spend zero or negative carry no information about
   a Gamma distribution and are left out of the fit (their prediction is the population mean,
   weighted as if their observed mean were 0).

The density of the observed mean ``m`` of ``x`` transactions is::

    Gamma(p x + q) / (Gamma(p x) Gamma(q)) * gamma^q x^(p x) m^(p x - 1) / (gamma + m x)^(p x + q)

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from trofast.analytics._mle import (
    FittedModel,
    Objective,
    Vector,
    as_vector,
    dot,
    hessian_from_gradient,
    minimize_log_params,
    require_customers,
    warm_start,
)
from trofast.analytics.errors import InvalidInput

# Above this many repeat customers a first fit on a random subsample gives the starting point:
# the full-data optimisation then needs a handful of iterations instead of dozens.
_WARM_START_ROWS = 100_000


def _gg_objective(x: Vector, m: Vector, w: Vector) -> Objective:
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w, minlength=ux.size)
    total_w = float(w.sum())
    log_m = np.log(m)
    log_x = np.log(ux)
    sum_w_log_m = np.bincount(inv, weights=w * log_m, minlength=ux.size)
    mx = m * x

    def objective(theta: Vector) -> tuple[float, Vector]:
        p, q, gamma = np.exp(theta)
        px = p * ux
        log_g = np.log(gamma + mx)
        # terms that depend on x only are summed once per distinct x
        ll = (
            dot(wx, gammaln(px + q) - gammaln(px) + px * log_x)
            + total_w * (q * np.log(gamma) - gammaln(q))
            + dot(sum_w_log_m, px - 1)
            - dot(w, (p * x + q) * log_g)
        )
        inv_g = 1 / (gamma + mx)
        g_p = (
            dot(wx * ux, digamma(px + q) - digamma(px) + log_x)
            + dot(sum_w_log_m, ux)
            - dot(w * x, log_g)
        )
        g_q = dot(wx, digamma(px + q)) + total_w * (np.log(gamma) - digamma(q)) - dot(w, log_g)
        g_gamma = total_w * q / gamma - dot(w, (p * x + q) * inv_g)
        grad = np.array([g_p * p, g_q * q, g_gamma * gamma])
        return -ll / total_w, -grad / total_w

    return objective


class GammaGammaModel(FittedModel):
    """Gamma-Gamma spend model: expected mean transaction value per customer.

    Parameters
    ----------
    min_repeat_customers
        Refuse to fit (`InsufficientData`) with fewer usable repeat customers.

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``gamma``.
    log_likelihood_ : float
        Maximised log-likelihood over the customers used.
    n_customers_ : int
        Customers used in the fit (repeat buyers with positive mean repeat value).
    """

    model_name = "gammagamma"
    param_names = ("p", "q", "gamma")

    def __init__(self, *, min_repeat_customers: int = 20, unit: str | None = None) -> None:
        super().__init__(unit=unit)
        self.min_repeat_customers = min_repeat_customers

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaModel:
        x, m = _check(frequency, monetary_value)
        usable = (x > 0) & (m > 0)
        require_customers(
            x.size, int(usable.sum()), minimum_repeat=self.min_repeat_customers, model="Gamma-Gamma"
        )
        x, m = x[usable], m[usable]
        w = np.ones_like(x)
        mean_m = float(m.mean())
        # Method-of-moments-like start: population mean spend = p gamma / (q - 1).
        x0 = np.log(np.array([1.0, 2.0, mean_m]))
        if x.size > _WARM_START_ROWS:
            idx = np.random.default_rng(0).choice(x.size, _WARM_START_ROWS, replace=False)
            x0 = warm_start(_gg_objective(x[idx], m[idx], w[idx]), x0)
        objective = _gg_objective(x, m, w)
        res, hess = minimize_log_params(
            objective,
            x0,
            model="Gamma-Gamma",
            hessian=lambda theta: hessian_from_gradient(objective, theta),
            n_customers=float(x.size),
        )
        self._store(res.x, -res.fun * float(x.size), x.size, hess)
        return self

    def population_mean_spend(self) -> float:
        """E(M) = p gamma / (q - 1); infinite when q <= 1 (heavy-tailed spend)."""
        self._require_fitted()
        p, q, gamma = (self.params_[k] for k in self.param_names)
        return p * gamma / (q - 1) if q > 1 else float("inf")

    def conditional_expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> Vector:
        """E(M | x, m): a weighted mean of the population mean and the customer's own mean.

        ``(q - 1)/(p x + q - 1) * p gamma/(q - 1) + p x/(p x + q - 1) * m``. A customer with no
        repeat purchase gets the population mean.
        """
        self._require_fitted()
        x, m = _check(frequency, monetary_value)
        p, q, gamma = (self.params_[k] for k in self.param_names)
        m = np.where(x > 0, np.maximum(m, 0.0), 0.0)
        out: Vector = (p * (gamma + x * m)) / (p * x + q - 1)
        return out

    def log_likelihood(self, frequency: ArrayLike, monetary_value: ArrayLike) -> Vector:
        """Per-customer log-density of the observed mean repeat value (repeat buyers only)."""
        self._require_fitted()
        x, m = _check(frequency, monetary_value)
        p, q, gamma = (self.params_[k] for k in self.param_names)
        px = p * x
        out: Vector = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + px * np.log(x)
            + (px - 1) * np.log(m)
            - (px + q) * np.log(gamma + m * x)
        )
        return out


def _check(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[Vector, Vector]:
    x = as_vector(frequency, "frequency")
    m = as_vector(monetary_value, "monetary_value")
    if x.size != m.size:
        raise InvalidInput("frequency and monetary_value must have the same length")
    if np.any(x < 0):
        raise InvalidInput("frequency must be non-negative")
    return x, m
