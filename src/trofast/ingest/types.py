"""Field types of the canonical event schema, each failing with a stable error type.

The error `type` of a failed field becomes the API error `code`, so these names are part
of the public contract (docs/api.md lists them).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import phonenumbers
from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from trofast.kit.money import (
    CURRENCY_EXPONENTS,
    MoneyError,
    currency_exponent,
    normalise_currency,
    to_minor,
)
from trofast.kit.time import ensure_utc

# Bounds that keep every product of quantity × price × 10^exponent inside 64-bit integers.
MAX_AMOUNT = Decimal(10) ** 9
MAX_QUANTITY = 1_000_000


def _currency(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("unknown_currency", "currency must be an ISO 4217 code")
    try:
        return normalise_currency(value)
    except MoneyError:
        raise PydanticCustomError(
            "unknown_currency", "unknown ISO 4217 currency {currency}", {"currency": value}
        ) from None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise PydanticCustomError("invalid_timestamp", "not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise PydanticCustomError("invalid_timestamp", "not an ISO 8601 timestamp")
    try:
        moment = ensure_utc(value)
    except ValueError:
        raise PydanticCustomError(
            "naive_timestamp", "timestamp has no time zone offset (add Z or +hh:mm)"
        ) from None
    except OverflowError:
        raise PydanticCustomError("invalid_timestamp", "timestamp out of range") from None
    if not 1970 <= moment.year <= 2200:
        raise PydanticCustomError("invalid_timestamp", "timestamp out of range (1970–2200)")
    return moment


def _external_id(value: Any) -> str:
    # Shopify ids exceed 2**53: an id that went through a float is already corrupt.
    if isinstance(value, (bool, float | Decimal)):
        raise PydanticCustomError("invalid_id", "ids must be strings or integers")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return value.strip()
    raise PydanticCustomError("invalid_id", "ids must be non-empty strings of at most 200 chars")


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise PydanticCustomError("invalid_amount", "amount must be a decimal number")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("invalid_amount", "amount must be a decimal number") from None
    if not amount.is_finite():
        raise PydanticCustomError("invalid_amount", "amount must be finite")
    if amount < 0:
        raise PydanticCustomError("negative_amount", "amount must not be negative")
    if amount > MAX_AMOUNT:
        raise PydanticCustomError("invalid_amount", "amount is larger than any real order")
    return amount


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PydanticCustomError("invalid_quantity", "quantity must be an integer")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PydanticCustomError("invalid_quantity", "quantity must be an integer") from None
    if number != number.to_integral_value():
        raise PydanticCustomError("invalid_quantity", "quantity must be an integer")
    if number < 0:
        raise PydanticCustomError("negative_quantity", "quantity must not be negative")
    if number > MAX_QUANTITY:
        raise PydanticCustomError("invalid_quantity", "quantity is larger than any real order")
    return int(number)


def normalise_email(value: str) -> str:
    return value.strip().lower()


def _email(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or "@" not in value or len(value) > 320:
        raise PydanticCustomError("invalid_email", "not an e-mail address")
    return normalise_email(value)


def normalise_phone(value: str, region: str | None = None) -> str:
    """E.164 form of a phone number; numbers without +country use the default region."""
    number = phonenumbers.parse(value, region)
    if not phonenumbers.is_possible_number(number):
        raise ValueError("impossible phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# Nordic shops write local numbers without +47; the region is taken from TROFAST_PHONE_REGION
# at the service edge, Norway by default.
DEFAULT_PHONE_REGION = "NO"


def _phone(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_phone", "phone must be a string")
    try:
        return normalise_phone(value, DEFAULT_PHONE_REGION)
    except (phonenumbers.NumberParseException, ValueError):
        raise PydanticCustomError("invalid_phone", "not a phone number") from None


# The JSON Schemas below document what the validators accept, for the OpenAPI document.
Currency = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema(
        {"type": "string", "enum": sorted(CURRENCY_EXPONENTS), "description": "ISO 4217"}
    ),
]
Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"}
    ),
]
ExternalId = Annotated[
    str,
    BeforeValidator(_external_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^\S(.*\S)?$"},
                {"type": "integer"},
            ],
            "description": "the source's id; a string (numbers are accepted as integers)",
        }
    ),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,4})?$"},
                {"type": "integer", "minimum": 0, "maximum": 10**9},
            ],
            "description": "a decimal amount in major units, at most the currency's decimals",
        }
    ),
]
Quantity = Annotated[
    int,
    BeforeValidator(_quantity),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY}),
]
Email = Annotated[
    str | None,
    BeforeValidator(_email),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 320}, {"type": "null"}]}),
]
Phone = Annotated[
    str | None,
    BeforeValidator(_phone),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}],
            "description": "E.164 (+4791234567); numbers without +country are read as Norwegian",
        }
    ),
]
ShortText = Annotated[str, Field(max_length=500)]
Birthday = date


def check_exact(amount: Decimal, currency: str) -> Decimal:
    """Refuse amounts with more decimals than the currency has (12.345 NOK)."""
    minor = to_minor(amount, currency)
    if Decimal(minor).scaleb(-currency_exponent(currency)) != amount:
        raise PydanticCustomError(
            "invalid_amount_precision",
            "{amount} has more decimals than {currency} allows",
            {"amount": str(amount), "currency": currency},
        )
    return amount


NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]
