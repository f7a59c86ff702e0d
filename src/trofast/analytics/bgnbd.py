"""The BG/NBD model of repeat purchasing ("counting your customers the easy way").

Assumptions
-----------
1. While active, a customer buys according to a Poisson process with rate ``lambda``.
2. ``lambda`` varies across customers as Gamma(shape ``r``, rate ``alpha``).
3. After each purchase a customer becomes inactive with probability ``p``; dropout can only
   happen right after a purchase, never before the first repeat purchase.
4. ``p`` varies across customers as Beta(``a``, ``b``).
5. ``lambda`` and ``p`` are independent across customers.

The likelihood of ``(x, t_x, T)`` is (Fader, Hardie & Lee 2005, eq. 6)::

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
      + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x))

It is evaluated as a log-sum-exp of the two terms, with every gamma and beta function as its
logarithm and evaluated once per distinct ``x``, so a customer with thousands of purchases
neither overflows nor costs more than one with two.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way: an
alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the BG/NBD model.
Fader, P. S. & Hardie, B. G. S. (2013). Overcoming the BG/NBD model's #NUM! error problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from trofast.analytics._mle import (
    FittedModel,
    Objective,
    Vector,
    as_vector,
    dot,
    minimize_log_params,
    require_customers,
    warm_start,
)
from trofast.analytics._special import compress
from trofast.analytics.errors import InvalidInput

# Above this many distinct customer rows a first fit on a random subsample gives the starting
# point: the full-data optimisation then needs a handful of iterations instead of dozens.
_WARM_START_ROWS = 200_000


def check_rft(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[Vector, Vector, Vector]:
    x = as_vector(frequency, "frequency")
    t_x = as_vector(recency, "recency")
    big_t = as_vector(T, "T")
    if not (x.size == t_x.size == big_t.size):
        raise InvalidInput("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise InvalidInput("frequency must be a non-negative whole number of repeat purchases")
    if np.any(t_x < 0) or np.any(t_x > big_t + 1e-9):
        raise InvalidInput("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        raise InvalidInput("recency must be 0 for customers without repeat purchases")
    return x, t_x, big_t


def prepare_counting_data(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None,
    *,
    minimum_repeat: int,
    model: str,
) -> tuple[Vector, Vector, Vector, Vector]:
    """Validate (frequency, recency, T), refuse data too thin to fit, and compress
    identical customers into weighted rows: the shared first step of every counting model."""
    x, t_x, big_t = check_rft(frequency, recency, T)
    w = None if weights is None else as_vector(weights, "weights")
    n = int(x.size if w is None else w.sum())
    n_repeat = int(np.sum(x > 0) if w is None else w[x > 0].sum())
    require_customers(n, n_repeat, minimum_repeat=minimum_repeat, model=model)
    return compress(x, t_x, big_t, w)


Grid = tuple[Vector, NDArray[np.intp]] | None


def _grid(values: Vector) -> Grid:
    """``values`` as (distinct values, index of each) when they repeat a lot, else None.

    Recency and T on a day grid take a few hundred distinct values over a million customers:
    a logarithm per distinct value and a gather is several times cheaper than one per row.
    """
    distinct, index = np.unique(values, return_inverse=True)
    return (distinct, index) if distinct.size * 4 <= values.size else None


def _log_and_inverse(alpha: float, values: Vector, grid: Grid) -> tuple[Vector, Vector]:
    """``log(alpha + values)`` and ``1 / (alpha + values)``."""
    if grid is None:
        shifted = alpha + values
        return np.log(shifted), 1.0 / shifted
    distinct, index = grid
    shifted = alpha + distinct
    return np.log(shifted)[index], (1.0 / shifted)[index]


def _bgnbd_objective(x: Vector, t_x: Vector, big_t: Vector, w: Vector) -> Objective:
    """Mean negative log-likelihood and its analytic gradient over log(r, alpha, a, b)."""
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w, minlength=ux.size)
    total_w = float(w.sum())
    has_repeat = ux > 0
    grid_t, grid_tx = _grid(big_t), _grid(t_x)

    def objective(theta: Vector) -> tuple[float, Vector]:
        r, alpha, a, b = np.exp(theta)
        log_t, inv_t = _log_and_inverse(alpha, big_t, grid_t)
        log_tx, inv_tx = _log_and_inverse(alpha, t_x, grid_tx)
        beta_ab = betaln(a, b)
        a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        c2 = betaln(a, b + ux) - beta_ab
        c3 = np.full(ux.size, -np.inf)
        c3[has_repeat] = betaln(a + 1, b + ux[has_repeat] - 1) - beta_ab
        rx = (r + ux)[inv]
        # d = log(dropout term / alive term); the likelihood is the alive term times (1 + e^d).
        # softplus(d) and expit(d) share e^-|d| (np.logaddexp alone costs three times more).
        d = (c3 - c2)[inv] + rx * (log_t - log_tx)
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        ll = dot(wx, a1 + c2) - dot(w, rx * log_t) + dot(w, softplus)
        w3 = np.where(d >= 0, 1.0, e) / (1.0 + e)  # weight of the dropout term, expit(d)
        ww3 = np.bincount(inv, weights=w * w3, minlength=ux.size)
        g_r = (
            dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
            - dot(w, log_t)
            - dot(w * w3, log_tx - log_t)
        )
        g_alpha = total_w * r / alpha - dot(w * rx, (1 - w3) * inv_t + w3 * inv_tx)
        g_a = dot(wx, digamma(a + b) - digamma(a + b + ux)) + float(ww3.sum()) / a
        inv_bx1 = np.zeros(ux.size)
        inv_bx1[has_repeat] = 1 / (b + ux[has_repeat] - 1)
        g_b = dot(wx, digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b)) - dot(
            ww3, inv_bx1
        )
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll / total_w, -grad / total_w

    return objective


def _bgnbd_hessian(x: Vector, t_x: Vector, big_t: Vector, w: Vector) -> Callable[[Vector], Vector]:
    """Analytic Hessian of the mean negative log-likelihood over log(r, alpha, a, b).

    Per customer ``ll = A(x) - (r+x) log(alpha+T) + softplus(d)`` with
    ``d = log a - log(b+x-1) + (r+x) (log(alpha+T) - log(alpha+t_x))`` (``c3 - c2`` reduces to
    the first two terms), so ``d2 ll = d2 A - d2[(r+x) log(alpha+T)] + s d2 d + s (1-s) dd dd'``
    with ``s = expit(d)``. One pass over the rows instead of eight gradients for central
    differences; the tests check it against those differences.
    """
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w, minlength=ux.size)
    total_w = float(w.sum())
    has_repeat = ux > 0
    grid_t, grid_tx = _grid(big_t), _grid(t_x)

    def hessian(theta: Vector) -> Vector:
        r, alpha, a, b = np.exp(theta)
        log_t, u = _log_and_inverse(alpha, big_t, grid_t)
        log_tx, v = _log_and_inverse(alpha, t_x, grid_tx)
        d_b = np.zeros(ux.size)  # d d / d b per distinct x (no dropout term without repeats)
        d_b[has_repeat] = -1 / (b + ux[has_repeat] - 1)
        c3_c2 = np.full(ux.size, -np.inf)
        c3_c2[has_repeat] = np.log(a) - np.log(b + ux[has_repeat] - 1)
        rx = (r + ux)[inv]
        d_r = log_t - log_tx
        d = c3_c2[inv] + rx * d_r
        e = np.exp(-np.abs(d))
        s = np.where(d >= 0, 1.0, e) / (1.0 + e)
        ws = w * s
        wq = ws * (1 - s)  # weight times the softplus curvature s (1 - s)
        d_alpha = rx * (u - v)
        sx, qx = (np.bincount(inv, weights=z, minlength=ux.size) for z in (ws, wq))
        q_dr = np.bincount(inv, weights=wq * d_r, minlength=ux.size)
        q_da = np.bincount(inv, weights=wq * d_alpha, minlength=ux.size)
        tri_ab = polygamma(1, a + b) - polygamma(1, a + b + ux)
        h = np.empty((4, 4))
        h[0, 0] = dot(wx, polygamma(1, r + ux) - polygamma(1, r)) + dot(wq, d_r * d_r)
        h[0, 1] = total_w / alpha - dot(w, u) + dot(ws, u - v) + dot(wq, d_r * d_alpha)
        h[1, 1] = (
            -total_w * r / alpha**2
            + dot(w * rx, u * u)
            - dot(ws * rx, u * u - v * v)
            + dot(wq, d_alpha * d_alpha)
        )
        h[0, 2] = float(q_dr.sum()) / a
        h[0, 3] = dot(q_dr, d_b)
        h[1, 2] = float(q_da.sum()) / a
        h[1, 3] = dot(q_da, d_b)
        h[2, 2] = dot(wx, tri_ab) + (float(qx.sum()) - float(sx.sum())) / a**2
        h[2, 3] = dot(wx, tri_ab) + dot(qx, d_b) / a
        h[3, 3] = (
            dot(wx, polygamma(1, b + ux) - polygamma(1, b) - polygamma(1, a + b + ux))
            + total_w * polygamma(1, a + b)
            + dot(sx + qx, d_b * d_b)
        )
        h = np.triu(h) + np.triu(h, 1).T
        # the gradient in natural parameters, for the chain rule to log-parameters
        g = np.array(
            [
                dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
                - dot(w, log_t)
                + dot(ws, d_r),
                total_w * r / alpha - dot(w * rx, u) + dot(ws, d_alpha),
                dot(wx, digamma(a + b) - digamma(a + b + ux)) + float(sx.sum()) / a,
                dot(wx, digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b))
                + dot(sx, d_b),
            ]
        )
        p = np.array([r, alpha, a, b])
        out: Vector = -(h * np.outer(p, p) + np.diag(p * g)) / total_w
        return out

    return hessian


class BetaGeoModel(FittedModel):
    """BG/NBD: Poisson purchasing, Gamma heterogeneity, geometric dropout after purchases.

    Parameters
    ----------
    min_repeat_customers
        Refuse to fit (`InsufficientData`) with fewer customers who made a repeat purchase.
    unit
        The time unit of ``recency`` and ``T`` (recorded with the parameters).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
        Maximised log-likelihood.
    covariance_ : ndarray or None
        Covariance of the log-parameters (inverse observed information).
    """

    model_name = "bgnbd"
    param_names = ("r", "alpha", "a", "b")

    def __init__(self, *, min_repeat_customers: int = 20, unit: str | None = None) -> None:
        super().__init__(unit=unit)
        self.min_repeat_customers = min_repeat_customers

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoModel:
        x, t_x, big_t, w = prepare_counting_data(
            frequency, recency, T, weights, minimum_repeat=self.min_repeat_customers, model="BG/NBD"
        )
        x0 = np.log(np.array([1.0, max(float(np.average(big_t, weights=w)), 1e-3), 1.0, 1.0]))
        if x.size > _WARM_START_ROWS:
            idx = np.random.default_rng(0).choice(x.size, _WARM_START_ROWS, replace=False)
            x0 = warm_start(_bgnbd_objective(x[idx], t_x[idx], big_t[idx], w[idx]), x0)
        objective = _bgnbd_objective(x, t_x, big_t, w)
        res, hess = minimize_log_params(
            objective,
            x0,
            model="BG/NBD",
            hessian=_bgnbd_hessian(x, t_x, big_t, w),
            n_customers=float(w.sum()),
        )
        self._store(res.x, -res.fun * float(w.sum()), int(w.sum()), hess)
        return self

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Vector:
        """Per-customer log-likelihood at the fitted parameters."""
        self._require_fitted()
        x, t_x, big_t = check_rft(frequency, recency, T)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
        dead = np.full(x.size, -np.inf)
        m = x > 0
        dead[m] = betaln(a + 1, b + x[m] - 1) - betaln(a, b) - (r + x[m]) * np.log(alpha + t_x[m])
        out: Vector = a1 + np.logaddexp(alive, dead)
        return out

    def expected_purchases(self, t: ArrayLike) -> Vector:
        """E[X(t)]: expected purchases of a new customer in its first ``t`` periods (eq. 9)."""
        self._require_fitted()
        tt = as_vector(t, "t")
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        z = tt / (alpha + tt)
        out: Vector = (
            (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + tt)) ** r * hyp2f1(r, b, a + b - 1, z))
        )
        return out

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Vector:
        """P(still active | x, t_x, T) (Fader, Hardie & Lee 2008)."""
        self._require_fitted()
        x, t_x, big_t = check_rft(frequency, recency, T)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        log_odds_dead = np.full(x.size, -np.inf)
        m = x > 0
        log_odds_dead[m] = (
            np.log(a)
            - np.log(b + x[m] - 1)
            + (r + x[m]) * (np.log(alpha + big_t[m]) - np.log(alpha + t_x[m]))
        )
        out: Vector = expit(-log_odds_dead)
        return out

    def expected_purchases_if_alive(self, t: float, frequency: ArrayLike, T: ArrayLike) -> Vector:
        """E[Y(t) | x, T, still active at T]; times `p_alive` it is the conditional expectation."""
        out: Vector = self.expected_purchases_if_alive_curve([t], frequency, T)[0]
        return out

    def expected_purchases_if_alive_curve(
        self, horizons: Sequence[float], frequency: ArrayLike, T: ArrayLike
    ) -> Vector:
        """`expected_purchases_if_alive` for several horizons at once, shape (horizons, n).

        The hypergeometric term of eq. 10 is rewritten with Euler's transformation,
        ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``,
        whose arguments stay small however large ``x`` is.
        """
        self._require_fitted()
        x = as_vector(frequency, "frequency")
        big_t = as_vector(T, "T")
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        # Customers share (x, T) far more often than (x, t_x, T): evaluate 2F1 once per pair.
        ux, x_code = np.unique(x, return_inverse=True)
        ut, t_code = np.unique(big_t, return_inverse=True)
        pairs, inv = np.unique(x_code * ut.size + t_code, return_inverse=True)
        px, pt = ux[pairs // ut.size], ut[pairs % ut.size]
        out = np.empty((len(horizons), x.size))
        for i, t in enumerate(horizons):
            z = t / (alpha + pt + t)
            f = hyp2f1(a + b - 1 - r, a - 1, a + b + px - 1, z)
            g = (a + b + px - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * f)
            out[i] = g[inv]
        return out

    def conditional_expected_purchases(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Vector:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods (eq. 10)."""
        alive = self.p_alive(frequency, recency, T)
        return self.expected_purchases_if_alive(t, frequency, T) * alive

    def next_purchase_median(self, frequency: ArrayLike, T: ArrayLike) -> Vector:
        """Median time (in periods after T) until the next purchase of a customer still active.

        Given activity, dropout can only follow a purchase, so the wait is that of the
        posterior Poisson rate, Gamma(r + x, alpha + T): a Lomax with this median.
        """
        self._require_fitted()
        x = as_vector(frequency, "frequency")
        big_t = as_vector(T, "T")
        r, alpha = self.params_["r"], self.params_["alpha"]
        out: Vector = (alpha + big_t) * np.expm1(np.log(2.0) / (r + x))
        return out
