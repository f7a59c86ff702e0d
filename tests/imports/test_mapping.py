from __future__ import annotations

import pytest

from trofast.imports.errors import MappingError
from trofast.imports.mapping import (
    ImportOptions,
    parse_overrides,
    resolve_mapping,
    source_name,
)


def test_headers_are_matched_by_alias_case_and_spacing_insensitively() -> None:
    mapping = resolve_mapping(
        ["Order Number", "Customer-Email", "Created At", "Qty", "Unit Price", "Stock Code"], {}
    )

    assert dict(mapping.columns) == {
        "order_id": "Order Number",
        "placed_at": "Created At",
        "quantity": "Qty",
        "unit_price": "Unit Price",
        "sku": "Stock Code",
    } | {"email": "Customer-Email"}


def test_overrides_win_and_an_empty_column_switches_a_field_off() -> None:
    overrides = parse_overrides(["Ordre=order_id", "=phone", "Sum=amount"])
    mapping = resolve_mapping(["Ordre", "date", "phone", "Sum", "amount"], overrides)

    assert dict(mapping.columns) == {"order_id": "Ordre", "amount": "Sum", "placed_at": "date"}


def test_an_override_naming_a_missing_column_is_refused() -> None:
    with pytest.raises(MappingError) as caught:
        resolve_mapping(["date", "amount"], {"order_id": "Ordre"})

    assert caught.value.code == "unknown_column"


@pytest.mark.parametrize("pair", ["order_id", "Ordre=order", "a=b"])
def test_a_malformed_or_unknown_field_override_is_refused(pair: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_overrides([pair])

    assert caught.value.code == "invalid_mapping"


@pytest.mark.parametrize(
    ("headers", "missing"), [(["order_id", "amount"], "date"), (["order_id", "date"], "amount")]
)
def test_a_date_and_an_amount_column_are_required(headers: list[str], missing: str) -> None:
    with pytest.raises(MappingError) as caught:
        resolve_mapping(headers, {})

    assert caught.value.code == "missing_column"
    assert missing in caught.value.message


def test_options_refuse_unknown_currency_time_zone_and_channel() -> None:
    codes = []
    for bad in ({"currency": "XXY"}, {"timezone": "Mars/Olympus"}, {"channel": "phone"}):
        with pytest.raises(MappingError) as caught:
            ImportOptions(source="import:x", **bad)  # type: ignore[arg-type]
        codes.append(caught.value.code)

    assert codes == ["unknown_currency", "unknown_timezone", "invalid_channel"]


def test_source_names_get_the_import_prefix_unless_they_are_full_sources() -> None:
    assert source_name("cdnow") == "import:cdnow"
    assert source_name("shopify:shop.myshopify.com") == "shopify:shop.myshopify.com"
