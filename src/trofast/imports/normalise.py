"""Pure normaliser: one chunk of text rows → orders and lines in integer minor units.

Amounts are parsed as text into integers by exact digit arithmetic (never through a float):
`12.50` NOK is 1250 øre, and `12.345` NOK is refused because øre have two decimals. Each
problem is reported with the file line of its first occurrence; a chunk with any problem is
refused whole.

Line amounts keep the invariant of `order_lines`: total = quantity × unit price − discount.
When the file gives only a line or order total (CDNOW gives "3 CDs for 29.33"), the unit
price is that total spread over the quantity, rounded up to a whole minor unit, and the
rounding remainder (less than one minor unit per item) becomes the line discount, so the
total stays exactly what the file says.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
import polars as pl

from trofast.imports.errors import ImportFileError
from trofast.imports.mapping import CHANNELS, ColumnMapping, ImportOptions
from trofast.imports.reader import LINE
from trofast.ingest.types import normalise_phone
from trofast.kit.money import CURRENCY_EXPONENTS

_AMOUNT = r"^(?P<sign>[+-]?)(?P<int>\d{1,15})(?:\.(?P<frac>\d*))?$"
_QUANTITY = r"^\+?\d{1,9}(\.0*)?$"
_ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
MAX_ID = 200  # the width of the id columns


@dataclass(frozen=True)
class Chunk:
    """Normalised rows, ready for the repository.

    orders: external_id, customer_external_id, email, phone, placed_at (UTC), currency, channel,
    store, subtotal_minor, discount_minor, total_minor.
    lines: order_external_id, external_id, sku, name, category, quantity, unit_price_minor,
    discount_minor, total_minor.
    """

    orders: pl.DataFrame
    lines: pl.DataFrame
    rows: int


def _fail(
    frame: pl.DataFrame,
    bad: pl.Expr,
    code: str,
    message: str,
    column: str | None,
    advice: str = "",
) -> None:
    hits = frame.filter(bad)
    if hits.height == 0:
        return
    line = int(hits.get_column(LINE)[0])
    value = hits.get_column(column)[0] if column else None
    shown = f" ({value!r})" if column else ""
    more = f"; {hits.height} rows of this chunk have this problem" if hits.height > 1 else ""
    raise ImportFileError(
        f"line {line}: {message}{shown}{more}{advice}",
        code=code,
        detail={"line": line, "value": value, "rows": hits.height},
    )


def _text(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value).alias(name)


def _blank_columns(mapping: ColumnMapping) -> list[pl.Expr]:
    fields = (
        "order_id",
        "line_id",
        "customer_id",
        "email",
        "phone",
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
    return [pl.lit(None, dtype=pl.String).alias(f) for f in fields if not mapping.has(f)]


def normalise(frame: pl.DataFrame, mapping: ColumnMapping, options: ImportOptions) -> Chunk:
    frame = frame.with_columns(_blank_columns(mapping))
    frame = frame.with_columns(_text(f) for f in frame.columns if f != LINE)
    frame = _identities(frame, options)
    frame = _placed_at(frame, options)
    frame = _amounts(frame, options)
    frame = _ids(frame, mapping)
    frame = _channel(frame, options)
    return _assemble(frame)


def _identities(frame: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    frame = frame.with_columns(pl.col("email").str.to_lowercase())
    _fail(
        frame,
        ~pl.col("email").str.contains("@") | (pl.col("email").str.len_chars() > 320),
        "invalid_email",
        "not an e-mail address",
        "email",
    )
    phones = frame.get_column("phone").drop_nulls().unique().to_list()
    table = {raw: _phone_or_none(raw, options.phone_region) for raw in phones}
    frame = frame.with_columns(
        pl.col("phone").replace_strict(table, default=None, return_dtype=pl.String).alias("e164")
    )
    _fail(
        frame,
        pl.col("phone").is_not_null() & pl.col("e164").is_null(),
        "invalid_phone",
        "not a phone number",
        "phone",
    )
    _fail(
        frame,
        pl.col("customer_id").str.len_chars() > MAX_ID,
        "invalid_id",
        f"customer id longer than {MAX_ID} characters",
        "customer_id",
    )
    return frame.with_columns(pl.col("e164").alias("phone")).drop("e164")


# A customer's phone comes back chunk after chunk, and parsing it with `phonenumbers` was the
# normaliser's largest cost (~40 µs a number, ~0.4 s per 100k-row chunk). The result
# depends on nothing but the arguments, so it is remembered; 2**17 entries are ~20 MB.
@functools.lru_cache(maxsize=1 << 17)
def _phone_or_none(raw: str, region: str) -> str | None:
    try:
        return normalise_phone(raw, region)
    except (phonenumbers.NumberParseException, ValueError):
        return None


def _placed_at(frame: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    raw = pl.col("placed_at")
    if options.date_format:
        aware = "%z" in options.date_format or "%:z" in options.date_format
        formats = (options.date_format,)
        parsers = [_parse(raw, f, options.timezone, aware=aware) for f in formats]
    else:
        # ISO 8601 with `T` or a space, `Z` or an offset or none (then --timezone applies).
        iso = raw.str.replace(" ", "T", literal=True).str.replace(r"Z$", "+00:00")
        parsers = [_parse(iso, f, options.timezone, aware=True) for f in _ISO_AWARE]
        parsers += [_parse(iso, f, options.timezone, aware=False) for f in _ISO_NAIVE]
    frame = frame.with_columns(pl.coalesce(parsers).alias("placed"))
    _fail(frame, raw.is_null(), "missing_date", "no date", None)
    hint = f"with --date-format {options.date_format}" if options.date_format else "as ISO 8601"
    _fail(
        frame,
        pl.col("placed").is_null(),
        "invalid_timestamp",
        f"date cannot be read {hint} in time zone {options.timezone}",
        "placed_at",
        # Without a format the merchant may not know there is one to give (CDNOW: 19970101).
        "" if options.date_format else "; for another layout pass --date-format, e.g. %Y%m%d",
    )
    return frame


def _parse(text: pl.Expr, fmt: str, zone: str, *, aware: bool) -> pl.Expr:
    if aware:
        return text.str.to_datetime(fmt, strict=False, exact=True, time_zone="UTC", time_unit="us")
    naive = text.str.to_datetime(fmt, strict=False, exact=True, time_unit="us")
    # A wall-clock time that falls in a DST gap did not exist: refused (null), not guessed.
    local = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def _minor(
    text: str, exponent: pl.Expr, frame: pl.DataFrame, options: ImportOptions
) -> pl.DataFrame:
    """Add `<text>_minor`: the decimal text in minor units, exactly, or refuse the chunk."""
    value = pl.col(text)
    if options.decimal_comma:
        value = value.str.replace(",", ".", literal=True)
    parts = f"{text}_parts"
    frame = frame.with_columns(value.str.extract_groups(_AMOUNT).alias(parts))
    _fail(
        frame,
        pl.col(text).is_not_null() & pl.col(parts).struct.field("int").is_null(),
        "invalid_amount",
        f"{text} is not a decimal number",
        text,
    )
    frac = pl.col(parts).struct.field("frac").fill_null("").str.strip_chars_end("0")
    digits = frac.str.len_chars().cast(pl.Int64)
    frame = frame.with_columns(frac.alias("_frac"), digits.alias("_digits"))
    _fail(
        frame,
        pl.col("_digits") > exponent,
        "invalid_amount_precision",
        f"{text} has more decimals than the currency allows",
        text,
    )
    ten = pl.lit(10, dtype=pl.Int64)
    fraction = pl.when(pl.col("_digits") > 0).then(pl.col("_frac")).otherwise(pl.lit("0"))
    magnitude = pl.col(parts).struct.field("int").cast(pl.Int64) * ten.pow(exponent) + (
        fraction.cast(pl.Int64) * ten.pow(exponent - pl.col("_digits"))
    )
    signed = (
        pl.when(pl.col(parts).struct.field("sign") == "-").then(-magnitude).otherwise(magnitude)
    )
    frame = frame.with_columns(signed.alias(f"{text}_minor")).drop(parts, "_frac", "_digits")
    _fail(
        frame,
        pl.col(f"{text}_minor") < 0,
        "negative_amount",
        f"{text} is negative (refunds and returns are not imported as orders)",
        text,
    )
    return frame


def _amounts(frame: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    frame = frame.with_columns(pl.col("currency").str.to_uppercase().fill_null(options.currency))
    exponents = {code: exp for code, exp in CURRENCY_EXPONENTS.items()}
    frame = frame.with_columns(
        pl.col("currency")
        .replace_strict(exponents, default=None, return_dtype=pl.Int64)
        .alias("_exp")
    )
    _fail(
        frame, pl.col("_exp").is_null(), "unknown_currency", "unknown ISO 4217 currency", "currency"
    )
    exponent = pl.col("_exp")
    frame = _minor("unit_price", exponent, frame, options)
    frame = _minor("amount", exponent, frame, options)
    _fail(
        frame,
        pl.col("unit_price").is_null() & pl.col("amount").is_null(),
        "missing_amount",
        "neither unit price nor amount",
        None,
    )
    _fail(
        frame,
        pl.col("quantity").is_not_null() & ~pl.col("quantity").str.contains(_QUANTITY),
        "invalid_quantity",
        "quantity is not a whole number of at least 0",
        "quantity",
    )
    qty = pl.col("quantity").str.replace(r"\..*$", "").cast(pl.Int64).fill_null(1)
    frame = frame.with_columns(qty.alias("qty"))
    total, q = pl.col("amount_minor"), pl.col("qty")
    # Spread over the items, rounded up; the remainder becomes the discount (module docstring).
    spread = pl.when(q > 0).then((total + q - 1) // q).otherwise(total)
    unit = pl.coalesce(pl.col("unit_price_minor"), spread)
    frame = frame.with_columns(unit.alias("unit_minor"))
    frame = frame.with_columns(pl.coalesce(total, q * pl.col("unit_minor")).alias("line_total"))
    frame = frame.with_columns(
        (q * pl.col("unit_minor") - pl.col("line_total")).alias("line_discount")
    )
    _fail(
        frame,
        pl.col("line_discount") < 0,
        "amount_exceeds_price",
        "amount is more than quantity × unit price",
        "amount",
    )
    _fail(
        frame,
        (q == 0) & (pl.col("line_total") > 0),
        "invalid_quantity",
        "an amount for a quantity of 0",
        "amount",
    )
    return frame


def _ids(frame: pl.DataFrame, mapping: ColumnMapping) -> pl.DataFrame:
    who = pl.coalesce(pl.col("customer_id"), pl.col("email"), pl.col("phone"), pl.lit(""))
    if mapping.has("order_id"):
        _fail(frame, pl.col("order_id").is_null(), "missing_order_id", "no order id", None)
        order = pl.col("order_id")
    else:
        # Re-importing the same file must give the same ids: the customer, the date as written
        # and the row's position among that customer's rows of that date (CDNOW has several
        # orders per customer and day). A group is never split across chunks (reader.chunks).
        nth = pl.int_range(1, pl.len() + 1).over(who, pl.col("placed_at"))
        order = pl.concat_str([who, pl.col("placed_at"), nth.cast(pl.String)], separator="/")
    frame = frame.with_columns(order.alias("order_ref"), who.alias("customer_ref"))
    position = pl.int_range(1, pl.len() + 1).over("order_ref").cast(pl.String)
    frame = frame.with_columns(pl.coalesce(pl.col("line_id"), position).alias("line_ref"))
    for column in ("order_ref", "line_ref"):
        _fail(
            frame,
            pl.col(column).str.len_chars() > MAX_ID,
            "invalid_id",
            f"id longer than {MAX_ID} characters",
            column,
        )
    dupes = pl.col("line_ref").is_duplicated().over("order_ref")
    _fail(frame, dupes, "duplicate_line", "a line id appears twice in one order", "line_ref")
    return frame


def _channel(frame: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    default = (
        pl.when(pl.col("store").is_not_null())
        .then(pl.lit("store"))
        .otherwise(pl.lit(options.channel))
    )
    frame = frame.with_columns(
        pl.coalesce(pl.col("channel").str.to_lowercase(), default).alias("channel")
    )
    _fail(
        frame,
        ~pl.col("channel").is_in(sorted(CHANNELS)),
        "invalid_channel",
        "channel must be web or store",
        "channel",
    )
    return frame


def _assemble(frame: pl.DataFrame) -> Chunk:
    first: Callable[[str], pl.Expr] = lambda c: pl.col(c).drop_nulls().first()  # noqa: E731
    orders = frame.group_by("order_ref", maintain_order=True).agg(
        first("customer_id"),
        first("email"),
        first("phone"),
        pl.col("placed").min().alias("placed_at"),
        pl.col("currency").n_unique().alias("_currencies"),
        pl.col("currency").first(),
        first("channel"),
        first("store"),
        (pl.col("qty") * pl.col("unit_minor")).sum().alias("subtotal_minor"),
        pl.col("line_discount").sum().alias("discount_minor"),
        pl.col("line_total").sum().alias("total_minor"),
        pl.col(LINE).first(),
    )
    _fail(
        orders,
        pl.col("_currencies") > 1,
        "mixed_currency",
        "the lines of one order are in different currencies",
        "order_ref",
    )
    orders = orders.select(
        pl.col("order_ref").alias("external_id"),
        pl.col("customer_id").alias("customer_external_id"),
        "email",
        "phone",
        "placed_at",
        "currency",
        "channel",
        "store",
        "subtotal_minor",
        "discount_minor",
        "total_minor",
    )
    lines = frame.select(
        pl.col("order_ref").alias("order_external_id"),
        pl.col("line_ref").alias("external_id"),
        "sku",
        "name",
        "category",
        pl.col("qty").alias("quantity"),
        pl.col("unit_minor").alias("unit_price_minor"),
        pl.col("line_discount").alias("discount_minor"),
        pl.col("line_total").alias("total_minor"),
    )
    return Chunk(orders=orders, lines=lines, rows=frame.height)
