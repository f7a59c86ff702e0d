from __future__ import annotations

import math

import pytest

from trofast.coupon import codes


def test_generated_code_has_60_random_bits_from_the_unambiguous_alphabet() -> None:
    code, display = codes.generate()

    assert len(code) == 12
    assert set(code) <= set(codes.ALPHABET)
    assert len(code) * math.log2(len(codes.ALPHABET)) == 60
    assert not set("01IO") & set(codes.ALPHABET)
    assert display == f"{code[0:4]}-{code[4:8]}-{code[8:12]}"


def test_prefix_is_normalised_and_printed_first() -> None:
    code, display = codes.generate("vip")

    assert code.startswith("VIP")
    assert len(code) == 15
    assert display == f"VIP-{code[3:7]}-{code[7:11]}-{code[11:15]}"


def test_fewer_than_60_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="60 bits"):
        codes.generate(symbols=11)


def test_codes_do_not_repeat() -> None:
    assert len({codes.generate()[0] for _ in range(2000)}) == 2000


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("vip-abcd-efgh-jklm", "VIPABCDEFGHJKLM"),
        (" abcd efgh\tjklm ", "ABCDEFGHJKLM"),
        ("summer_25", "SUMMER25"),
        ("a.b-c d", "ABCD"),
        ("---", ""),
    ],
)
def test_input_is_normalised(typed: str, normalised: str) -> None:
    assert codes.normalise(typed) == normalised


def test_well_formed_means_letters_and_digits_only() -> None:
    assert codes.is_well_formed("SUMMER25")
    assert not codes.is_well_formed("")
    assert not codes.is_well_formed("SUMMER%25")
    assert not codes.is_well_formed("X" * 65)
