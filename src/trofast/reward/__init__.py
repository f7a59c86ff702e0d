"""Rewards and points as payment.

Importing the package registers the release hook of reward coupons with the coupon domain
(`trofast.coupon.origins`), so every process that can release a coupon (the API, the
ingestion worker, the CLI) returns points as the programme says.
"""

from trofast.reward import service as _service  # noqa: F401  (registers the release hook)
