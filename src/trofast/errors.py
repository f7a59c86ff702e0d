"""The error family of Trofast.

Every error the API returns is an `AppError` rendered by one handler as
`{"error": <message>, "code": <stable code>, "detail": <object or null>}`::

    AppError
    ├── BadRequest (400)            invalid_json, unknown_currency, naive_timestamp, ...
    ├── Unauthorized (401)          missing_api_key, invalid_api_key, bad_signature
    ├── Forbidden (403)             insufficient_scope
    ├── NotFound (404)              not_found
    ├── Conflict (409)              idempotency_conflict, ...
    ├── PayloadTooLarge (413)       payload_too_large
    ├── UnsupportedMediaType (415)  unsupported_media_type
    ├── TooManyRequests (429)       too_many_invalid_codes (with Retry-After)
    └── Unprocessable (422)         validation_error (payload shape only)

`retryable` tells the worker whether trying again could succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.detail = detail
        # Response headers the error implies, e.g. Retry-After on a 429.
        self.headers = headers

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "detail": self.detail}


class BadRequest(AppError):
    status_code = 400
    default_code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    default_code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    default_code = "forbidden"


class NotFound(AppError):
    status_code = 404
    default_code = "not_found"


class Conflict(AppError):
    status_code = 409
    default_code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    default_code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code = 415
    default_code = "unsupported_media_type"


class TooManyRequests(AppError):
    status_code = 429
    default_code = "too_many_requests"
    retryable = True


class Unprocessable(AppError):
    status_code = 422
    default_code = "validation_error"


class TransientError(AppError):
    """A failure that may pass on retry (lock timeout, serialization failure)."""

    status_code = 503
    default_code = "temporarily_unavailable"
    retryable = True


# Pydantic error types that are part of our contract; any other type is `validation_error`.
STABLE_VALIDATION_CODES = frozenset(
    {
        "unknown_currency",
        "naive_timestamp",
        "invalid_timestamp",
        "negative_quantity",
        "invalid_quantity",
        "negative_amount",
        "invalid_amount",
        "invalid_amount_precision",
        "invalid_id",
        "invalid_email",
        "invalid_phone",
        "missing_identity",
        "duplicate_line_id",
    }
)


def validation_failed(errors: Sequence[Any], message: str = "invalid payload") -> Unprocessable:
    """One 422 for a failed payload; its code is the first error's stable type, if any."""
    detail: list[dict[str, Any]] = [
        {"loc": list(e.get("loc", ())), "type": str(e.get("type")), "msg": e.get("msg")}
        for e in errors
    ]
    codes = [d["type"] for d in detail if d["type"] in STABLE_VALIDATION_CODES]
    code = codes[0] if codes else "validation_error"
    too_long = [d for d in detail if d["type"] == "too_long" and d["loc"][:1] == ["events"]]
    if not codes and too_long:
        code = "batch_too_large"
    return Unprocessable(message, code=code, detail=detail)
