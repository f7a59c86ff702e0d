"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

Assumptions
-----------
1. While active, a customer buys according to a Poisson process with rate ``lambda``.
2. A customer's unobserved lifetime is exponential with rate ``mu``: dropout can happen at any
   time, not only after a purchase (the difference with BG/NBD).
3. ``lambda`` ~ Gamma(``r``, ``alpha``) and ``mu`` ~ Gamma(``s``, ``beta``) across customers,
   independently.

The likelihood (Fader & Hardie 2005, eq. 11) is
``Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0]`` with
``A0 = F(t_x) - F(T)`` and ``F`` a Gaussian hypergeometric function. Euler's transformation
turns ``F`` into ``(alpha+tau)^-(r+x) (beta+tau)^-s 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+tau))``
when ``alpha >= beta`` (and the mirror form otherwise), a series of positive terms bounded by a
geometric series, summed in log space: no overflow for customers with thousands of purchases.

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who are they
and what will they do next? Management Science 33(1), 1-24.
Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and related
expressions. http://brucehardie.com/notes/009/
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way.
Marketing Science 24(2), 275-284 (the CDNOW estimates used in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, gammaln

from trofast.analytics._mle import (
    FittedModel,
    Objective,
    Vector,
    as_vector,
    central_gradient,
    dot,
    hessian_from_value,
    minimize_log_params,
)
from trofast.analytics._special import log_hyp2f1_1b
from trofast.analytics.bgnbd import check_rft, prepare_counting_data


def _log_f(params: Vector, x: Vector, tau: Vector) -> Vector:
    """log F(tau), the antiderivative whose difference gives A0."""
    r, alpha, s, beta = params
    if alpha >= beta:
        z = (alpha - beta) / (alpha + tau)
        series = log_hyp2f1_1b(r + x, r + s + x + 1, z)
        out: Vector = -(r + x) * np.log(alpha + tau) - s * np.log(beta + tau) + series
    else:
        z = (beta - alpha) / (beta + tau)
        series = log_hyp2f1_1b(np.full(x.size, s + 1), r + s + x + 1, z)
        out = (1 - r - x) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau) + series
    return out


def _log_terms(params: Vector, x: Vector, t_x: Vector, big_t: Vector) -> tuple[Vector, Vector]:
    """log of the 'alive at T' and 'died in (t_x, T]' parts of the likelihood, without the
    factor Gamma(r+x) alpha^r beta^s / Gamma(r) they share."""
    r, alpha, s, beta = params
    alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    f_tx = _log_f(params, x, t_x)
    f_t = _log_f(params, x, big_t)
    with np.errstate(divide="ignore"):
        # F is decreasing, so F(t_x) >= F(T); equality (t_x = T) means no room to die: -inf.
        log_a0 = f_tx + np.log(-np.expm1(np.minimum(f_t - f_tx, 0.0)))
    dead = np.log(s) - np.log(r + s + x) + log_a0
    return alive, dead


def _log_likelihood(params: Vector, x: Vector, t_x: Vector, big_t: Vector) -> Vector:
    r, alpha, s, beta = params
    alive, dead = _log_terms(params, x, t_x, big_t)
    shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    out: Vector = shared + np.logaddexp(alive, dead)
    return out


def _pnbd_objective(x: Vector, t_x: Vector, big_t: Vector, w: Vector) -> Objective:
    total_w = float(w.sum())

    def value(theta: Vector) -> float:
        return -dot(w, _log_likelihood(np.exp(theta), x, t_x, big_t)) / total_w

    def objective(theta: Vector) -> tuple[float, Vector]:
        # The closed-form gradient runs through the hypergeometric series; central
        # differences on four log-parameters are accurate to ~1e-10 here and cheap enough.
        return value(theta), central_gradient(value, theta)

    return objective


class ParetoNBDModel(FittedModel):
    """Pareto/NBD: Poisson purchasing and exponential lifetimes, both Gamma-heterogeneous.

    Parameters
    ----------
    min_repeat_customers
        Refuse to fit (`InsufficientData`) with fewer customers who made a repeat purchase.
    unit
        The time unit of ``recency`` and ``T``.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta``.
    log_likelihood_ : float
        Maximised log-likelihood.
    covariance_ : ndarray or None
        Covariance of the log-parameters (inverse observed information).
    """

    model_name = "paretonbd"
    param_names = ("r", "alpha", "s", "beta")

    def __init__(self, *, min_repeat_customers: int = 20, unit: str | None = None) -> None:
        super().__init__(unit=unit)
        self.min_repeat_customers = min_repeat_customers

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBDModel:
        x, t_x, big_t, w = prepare_counting_data(
            frequency,
            recency,
            T,
            weights,
            minimum_repeat=self.min_repeat_customers,
            model="Pareto/NBD",
        )
        scale = max(float(np.average(big_t, weights=w)), 1e-3)
        x0 = np.log(np.array([1.0, scale, 1.0, scale]))
        objective = _pnbd_objective(x, t_x, big_t, w)
        res, hess = minimize_log_params(
            objective,
            x0,
            model="Pareto/NBD",
            hessian=lambda theta: hessian_from_value(lambda th: objective(th)[0], theta),
            n_customers=float(w.sum()),
        )
        self._store(res.x, -res.fun * float(w.sum()), int(w.sum()), hess)
        return self

    def _params(self) -> Vector:
        self._require_fitted()
        return np.array([self.params_[k] for k in self.param_names])

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Vector:
        """Per-customer log-likelihood at the fitted parameters."""
        x, t_x, big_t = check_rft(frequency, recency, T)
        return _log_likelihood(self._params(), x, t_x, big_t)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Vector:
        """P(still active | x, t_x, T) (Fader & Hardie 2005, eq. 18)."""
        x, t_x, big_t = check_rft(frequency, recency, T)
        alive, dead = _log_terms(self._params(), x, t_x, big_t)
        out: Vector = expit(alive - dead)
        return out

    def expected_purchases(self, t: ArrayLike) -> Vector:
        """E[X(t)] for a new customer: ``r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``."""
        r, alpha, s, beta = self._params()
        tt = as_vector(t, "t")
        out: Vector = r * beta / alpha * _one_minus_pow_over(s - 1, beta / (beta + tt))
        return out

    def expected_purchases_if_alive(self, t: float, frequency: ArrayLike, T: ArrayLike) -> Vector:
        """E[Y(t) | x, T, active at T]; times `p_alive` it is the conditional expectation."""
        r, alpha, s, beta = self._params()
        x = as_vector(frequency, "frequency")
        big_t = as_vector(T, "T")
        ratio = (beta + big_t) / (beta + big_t + t)
        out: Vector = (r + x) * (beta + big_t) / (alpha + big_t) * _one_minus_pow_over(s - 1, ratio)
        return out

    def expected_purchases_if_alive_curve(
        self, horizons: Sequence[float], frequency: ArrayLike, T: ArrayLike
    ) -> Vector:
        """`expected_purchases_if_alive` for several horizons at once, shape (horizons, n)."""
        return np.stack([self.expected_purchases_if_alive(t, frequency, T) for t in horizons])

    def conditional_expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Vector:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods (eq. 22)."""
        alive = self.p_alive(frequency, recency, T)
        return self.expected_purchases_if_alive(t, frequency, T) * alive

    def next_purchase_median(self, frequency: ArrayLike, T: ArrayLike) -> Vector:
        """Median time until the next purchase of a customer who stays active meanwhile.

        The posterior purchase rate of an active customer is Gamma(r + x, alpha + T), so the
        wait is Lomax; dropout during the wait is reported separately by `p_alive`.
        """
        r, alpha, _, _ = self._params()
        x = as_vector(frequency, "frequency")
        big_t = as_vector(T, "T")
        out: Vector = (alpha + big_t) * np.expm1(np.log(2.0) / (r + x))
        return out


def _one_minus_pow_over(k: float, base: Vector) -> Vector:
    """``(1 - base^k) / k``, continuous at ``k = 0`` where it is ``-log(base)``."""
    log_base = np.log(base)
    if abs(k) < 1e-12:
        return -log_base
    out: Vector = -np.expm1(k * log_base) / k
    return out
