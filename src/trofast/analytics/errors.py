"""Errors raised by the analytics library.

They join the project's error family so the API renders them like any other error::

    AppError
    └── AnalyticsError (422)        analytics_error
        ├── InvalidInput            invalid_input: missing column, bad unit, bad segment map
        ├── InsufficientData        insufficient_data: too few (repeat) buyers to fit a model
        └── FitError                fit_failed: the likelihood could not be maximised
            └── NotConverged        not_converged: the optimiser stopped before converging

None of them is retryable: the same data gives the same answer.
"""

from __future__ import annotations

from trofast.errors import AppError


class AnalyticsError(AppError):
    status_code = 422
    default_code = "analytics_error"


class InvalidInput(AnalyticsError):
    default_code = "invalid_input"


class InsufficientData(AnalyticsError):
    default_code = "insufficient_data"


class FitError(AnalyticsError):
    default_code = "fit_failed"


class NotConverged(FitError):
    default_code = "not_converged"
