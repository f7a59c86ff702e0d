"""Which column of an import file holds which order field, and the options of an import.

A file's header is matched against the aliases below (case-insensitive; spaces and dashes
count as underscores); `--map column=field` overrides a match and `--map =field` (an empty
column) switches a field off. The mapping is pure data so it can be tested and documented
without a file or a database.

Fields (one row of the file is one line item; see docs/import.md):

========== ================================================================================
order_id   the order's id in the source; rows of one order must be next to each other.
           Without it every row is its own order with the id `customer/date/n`.
line_id    the line's id within its order; without it, the row's position in the order.
customer_id the source's customer id (identity `external` in the import's source).
email      identity `email`, lower-cased.
phone      identity `phone`, normalised to E.164 (local numbers use the phone region).
placed_at  when the order was placed (required); see `--date-format` and `--timezone`.
quantity   items on the line (default 1).
unit_price price of one item, a decimal in the currency's major unit.
amount     the line's total after discounts; in a totals-only file, the order's total.
           At least one of unit_price and amount is required.
currency   ISO 4217 code per row; without it, `--currency`.
sku, name, category   the product; a sku also adds the product to the catalogue.
channel    `web` or `store`; without it, `store` when a store is given, else `--channel`.
store      the store's code (created on first sight).
========== ================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trofast.imports.errors import MappingError
from trofast.kit.money import MoneyError, normalise_currency

FIELDS: tuple[str, ...] = (
    "order_id",
    "line_id",
    "customer_id",
    "email",
    "phone",
    "placed_at",
    "quantity",
    "unit_price",
    "amount",
    "currency",
    "sku",
    "name",
    "category",
    "channel",
    "store",
)

# Header names seen in shop exports (Shopify, WooCommerce, the UCI Online Retail set, CDNOW),
# compared after `_canonical()`; the first field whose alias matches takes the column.
ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order_id",
        "order",
        "orderid",
        "order_number",
        "order_no",
        "invoice",
        "invoice_no",
        "invoiceno",
        "transaction_id",
        "receipt_id",
    ),
    "line_id": ("line_id", "line_item_id", "lineitem_id", "line"),
    "customer_id": ("customer_id", "customerid", "customer", "client_id", "member_id", "master_id"),
    "email": ("email", "e_mail", "customer_email", "email_address"),
    "phone": ("phone", "phone_number", "mobile", "telephone", "customer_phone"),
    "placed_at": (
        "placed_at",
        "date",
        "order_date",
        "created_at",
        "invoicedate",
        "invoice_date",
        "purchased_at",
        "timestamp",
    ),
    "quantity": ("quantity", "qty", "number_of_cds", "units"),
    "unit_price": ("unit_price", "unitprice", "price", "item_price"),
    "amount": ("amount", "line_total", "total", "order_total", "dollar_value", "revenue"),
    "currency": ("currency", "currency_code"),
    "sku": ("sku", "stockcode", "stock_code", "product_id", "item_id", "variant_sku"),
    "name": ("name", "product_name", "description", "title", "product"),
    "category": ("category", "product_category", "product_type"),
    "channel": ("channel",),
    "store": ("store", "store_code", "store_id"),
}

CHANNELS = frozenset({"web", "store"})
FORMATS = frozenset({"auto", "csv", "parquet", "whitespace"})


def _canonical(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


@dataclass(frozen=True)
class ColumnMapping:
    """field → the file's column holding it; unmapped fields are absent."""

    columns: Mapping[str, str]

    def column(self, name: str) -> str | None:
        return self.columns.get(name)

    def has(self, name: str) -> bool:
        return name in self.columns


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`["Ordre=order_id", "=phone"]` → `{"order_id": "Ordre", "phone": ""}`."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        column, sep, name = pair.rpartition("=")
        name = name.strip()
        if not sep or name not in FIELDS:
            raise MappingError(
                f"--map expects column=field with field one of {', '.join(FIELDS)}; got {pair!r}",
                code="invalid_mapping",
            )
        overrides[name] = column.strip()
    return overrides


def resolve_mapping(headers: Iterable[str], overrides: Mapping[str, str]) -> ColumnMapping:
    """Match the file's headers to fields; overrides win; required fields must be present."""
    headers = list(headers)
    present = set(headers)
    columns: dict[str, str] = {}
    for name, column in overrides.items():
        if column and column not in present:
            raise MappingError(
                f"--map {column}={name}: the file has no column {column!r}",
                code="unknown_column",
                detail={"columns": headers},
            )
        if column:
            columns[name] = column
    taken = set(columns.values())
    by_canonical = {_canonical(h): h for h in reversed(headers)}
    for name in FIELDS:
        if name in overrides:
            continue
        for alias in ALIASES[name]:
            header = by_canonical.get(alias)
            if header is not None and header not in taken:
                columns[name] = header
                taken.add(header)
                break
    mapping = ColumnMapping(columns)
    if not mapping.has("placed_at"):
        raise MappingError(
            "no date column: map one with --map COLUMN=placed_at",
            code="missing_column",
            detail={"columns": headers},
        )
    if not (mapping.has("amount") or mapping.has("unit_price")):
        raise MappingError(
            "no amount column: map one with --map COLUMN=amount or --map COLUMN=unit_price",
            code="missing_column",
            detail={"columns": headers},
        )
    return mapping


@dataclass(frozen=True)
class ImportOptions:
    """How to read one file; the CLI options map one-to-one onto these fields."""

    source: str
    currency: str = "NOK"
    date_format: str | None = None  # strftime codes, e.g. %Y%m%d for CDNOW; None = ISO 8601
    timezone: str = "UTC"  # for timestamps written without an offset
    channel: str = "web"
    phone_region: str = "NO"
    file_format: str = "auto"
    separator: str = ","
    decimal_comma: bool = False
    batch_size: int = 100_000
    overrides: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "currency", normalise_currency(self.currency))
        except MoneyError as exc:
            raise MappingError(str(exc), code="unknown_currency") from None
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(
                f"unknown time zone {self.timezone!r}", code="unknown_timezone"
            ) from None
        if self.channel not in CHANNELS:
            raise MappingError(
                f"channel must be web or store, not {self.channel!r}", code="invalid_channel"
            )
        if self.file_format not in FORMATS:
            raise MappingError(f"format must be one of {sorted(FORMATS)}", code="invalid_format")
        if self.batch_size < 1:
            raise MappingError("batch size must be at least 1", code="invalid_batch_size")
        if len(self.separator) != 1:
            raise MappingError("the separator must be one character", code="invalid_separator")


def source_name(name: str) -> str:
    """`shop-2019` → `import:shop-2019`; a name with a colon is a full source and kept.

    Giving a live source (`shopify:shop.myshopify.com`) makes imported orders and customer
    ids the same rows the webhooks later update, instead of a separate import namespace.
    """
    name = name.strip()
    if not name:
        raise MappingError("the source name is empty", code="invalid_source")
    return name if ":" in name else f"import:{name}"
