"""The discount kinds a coupon can give: a registry from kind to parameters and handler.

Pure: a cart in, the discount out, in integer minor units. Adding a kind is one parameter
model, one handler and one registry entry (plus the union member the API validates with).
A handler returns `Applied`, or a reason code when the kind cannot apply to this cart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

MAX_MINOR = 10**15


@dataclass(frozen=True)
class CartLine:
    sku: str | None
    category: str | None
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class Cart:
    """What the shop is about to sell, before this coupon's discount."""

    currency: str
    channel: str
    lines: Sequence[CartLine]
    shipping_minor: int = 0

    @property
    def subtotal_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)


@dataclass(frozen=True)
class Applied:
    kind: str
    amount_minor: int  # what the customer saves, in minor units of the cart's currency
    free_shipping: bool = False
    sku: str | None = None


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedAmount(_Params):
    kind: Literal["fixed_amount"]
    amount_minor: Annotated[int, Field(ge=1, le=MAX_MINOR)]


class Percent(_Params):
    kind: Literal["percent"]
    percent: Annotated[int, Field(ge=1, le=100)]
    max_amount_minor: Annotated[int, Field(ge=1, le=MAX_MINOR)] | None = None


class FreeShipping(_Params):
    kind: Literal["free_shipping"]


class FreeProduct(_Params):
    kind: Literal["free_product"]
    sku: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


Discount = Annotated[
    FixedAmount | Percent | FreeShipping | FreeProduct, Field(discriminator="kind")
]
DISCOUNT = TypeAdapter[Discount](Discount)

Handler = Callable[[Any, Cart, Sequence[CartLine]], Applied | str]


def _fixed(params: FixedAmount, _cart: Cart, eligible: Sequence[CartLine]) -> Applied | str:
    # Never more than the goods it applies to: a voucher is not paid out as change.
    base = sum(line.total_minor for line in eligible)
    return Applied("fixed_amount", min(params.amount_minor, base))


def _percent(params: Percent, _cart: Cart, eligible: Sequence[CartLine]) -> Applied | str:
    base = sum(line.total_minor for line in eligible)
    # Rounded down, in the shop's favour, so the sum of line discounts never exceeds this.
    amount = base * params.percent // 100
    if params.max_amount_minor is not None:
        amount = min(amount, params.max_amount_minor)
    return Applied("percent", amount)


def _free_shipping(_params: FreeShipping, cart: Cart, _eligible: Sequence[CartLine]) -> Applied:
    return Applied("free_shipping", cart.shipping_minor, free_shipping=True)


def _free_product(params: FreeProduct, _cart: Cart, eligible: Sequence[CartLine]) -> Applied | str:
    # One unit free: the cheapest line of that sku, so a split line cannot raise the value.
    prices = [line.unit_price_minor for line in eligible if line.sku == params.sku]
    if not prices:
        return "product_not_in_cart"
    return Applied("free_product", min(prices), sku=params.sku)


HANDLERS: dict[str, Handler] = {
    "fixed_amount": _fixed,
    "percent": _percent,
    "free_shipping": _free_shipping,
    "free_product": _free_product,
}


def parse(kind: str, params: dict[str, Any]) -> Discount:
    """The stored parameters of a coupon as their model (raises if the row is corrupt)."""
    return DISCOUNT.validate_python({**params, "kind": kind})


def apply(discount: Discount, cart: Cart, eligible: Sequence[CartLine]) -> Applied | str:
    return HANDLERS[discount.kind](discount, cart, eligible)
