"""The input every normaliser takes, and the helpers they share to read foreign JSON.

Normalisers are pure: everything they need (body, headers, received time) is in the
delivery, so a stored delivery replays to the same events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import phonenumbers
from pydantic import BaseModel, ValidationError

from trofast.ingest.normalisers.errors import InvalidJson, InvalidPayload
from trofast.ingest.schemas import CanonicalEvent
from trofast.ingest.types import DEFAULT_PHONE_REGION, normalise_phone
from trofast.kit.time import ensure_utc

JSON = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


class DeliveryLike(Protocol):
    """What a normaliser reads of a delivery: the stored `trofast.models.Delivery` row and
    `RawDelivery` both fit, so the service passes its row and tests pass a dataclass."""

    @property
    def channel(self) -> str: ...
    @property
    def source_name(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class RawDelivery:
    """One delivery as received: the body untouched, header names in any case.

    `source_name` is the shop domain (Shopify) or site (WooCommerce); when empty the
    normaliser reads it from the headers. `topic` likewise.
    """

    channel: str
    body: bytes
    received_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)
    source_name: str = ""
    topic: str = ""


def header(delivery: DeliveryLike, *names: str) -> str | None:
    """The first non-empty header among `names` (lower-case), whatever the stored case."""
    lowered = lower_headers(delivery.headers)
    for name in names:
        value = lowered.get(name, "").strip()
        if value:
            return value
    return None


def body_sha256(delivery: DeliveryLike) -> str:
    return hashlib.sha256(delivery.body).hexdigest()


Normaliser = Callable[[DeliveryLike], list[CanonicalEvent]]


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def signature_matches(body: bytes, signature: str | None, secret: str) -> bool:
    """Base64 HMAC-SHA256 of the raw body, compared in constant time (Shopify, WooCommerce)."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())


def parse_json(body: bytes) -> Any:
    # parse_float=Decimal keeps 195.66 exact; ints stay ints, so 64-bit ids are never floats.
    try:
        return json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(f"body is not valid JSON: {exc}") from None


def parse_object(body: bytes) -> JSON:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise InvalidPayload("the body must be a JSON object")
    return data


def build(model: type[M], data: JSON) -> M:
    """Validate a mapped event, turning the first field error into a coded InvalidPayload."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"])
        code = first["type"] if first["type"] in _FIELD_CODES else "invalid_payload"
        detail = [{"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in errors]
        raise InvalidPayload(f"{where}: {first['msg']}", code=code, detail=detail) from None


# The custom error types of trofast.ingest.types: they become the error code as they are.
_FIELD_CODES = frozenset(
    {
        "unknown_currency",
        "invalid_timestamp",
        "naive_timestamp",
        "invalid_id",
        "invalid_amount",
        "negative_amount",
        "invalid_amount_precision",
        "invalid_quantity",
        "negative_quantity",
        "invalid_email",
        "invalid_phone",
    }
)


# --- reading foreign JSON: wrong shapes fail with invalid_payload, never AttributeError ---


def obj(data: JSON, key: str) -> JSON:
    """A nested object, `{}` when absent or null."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidPayload(f"{key} must be an object")
    return value


def objects(data: JSON, key: str) -> list[JSON]:
    """A list of objects, `[]` when absent or null."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidPayload(f"{key} must be a list of objects")
    return value


def text(data: JSON, key: str) -> str | None:
    """A string field, stripped; None when absent, null or blank."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidPayload(f"{key} must be a string")
    stripped = str(value).strip()
    return stripped or None


def ident(data: JSON, key: str) -> str | None:
    """An id as a string. A JSON float id is refused: it already lost precision."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool | Decimal):
        raise InvalidPayload(f"{key} must be an integer or a string", code="invalid_id")
    if isinstance(value, int | str):
        return str(value).strip() or None
    raise InvalidPayload(f"{key} must be an integer or a string", code="invalid_id")


def require(value: str | None, what: str) -> str:
    if value is None:
        raise InvalidPayload(f"{what} is missing")
    return value


def amount(value: Any, what: str) -> Decimal:
    """A money amount from a decimal string or a JSON number (already a Decimal)."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidPayload(f"{what} must be a decimal amount", code="invalid_amount")
    try:
        result = Decimal(str(value).strip())
    except ArithmeticError:
        raise InvalidPayload(f"{what} must be a decimal amount", code="invalid_amount") from None
    if not result.is_finite():
        raise InvalidPayload(f"{what} must be finite", code="invalid_amount")
    return result


def timestamp(value: Any, what: str) -> datetime | None:
    """An ISO 8601 timestamp with an offset, as aware UTC; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{what} must be an ISO 8601 string", code="invalid_timestamp")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidPayload(f"{what} is not ISO 8601", code="invalid_timestamp") from None
    try:
        return ensure_utc(parsed)
    except ValueError:
        raise InvalidPayload(f"{what} has no time zone offset", code="naive_timestamp") from None


def utc_timestamp(value: Any, what: str) -> datetime | None:
    """A timestamp the sender documents as UTC but writes without an offset (WooCommerce *_gmt)."""
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidPayload(f"{what} is not ISO 8601", code="invalid_timestamp") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return timestamp(value, what)


def first_time(*candidates: datetime | None) -> datetime | None:
    return next((moment for moment in candidates if moment is not None), None)


def clean_email(value: str | None) -> str | None:
    """An address worth matching on, else None.

    A shop's typo in a guest's e-mail must not reject the whole order: the order is kept
    and only the unusable identity is dropped.
    """
    if value is None or "@" not in value or len(value) > 320:
        return None
    return value.strip().lower()


def clean_phone(value: str | None, region: str | None = None) -> str | None:
    """E.164 or None; local numbers use the address's country, else the default region."""
    if value is None:
        return None
    try:
        return normalise_phone(value, region or DEFAULT_PHONE_REGION)
    except (phonenumbers.NumberParseException, ValueError):
        return None


def numbered_keys(base: str, count: int) -> list[str]:
    """One key per event; a delivery that yields several suffixes `:{n}` from 1."""
    if count == 1:
        return [base]
    return [f"{base}:{n}" for n in range(1, count + 1)]
