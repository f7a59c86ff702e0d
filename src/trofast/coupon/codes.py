"""Coupon codes: generated from `secrets`, normalised on input, grouped for reading.

A generated code is an optional prefix and three groups of four symbols
(`VIP-7K2M-Q9RT-HW4C`): 12 symbols from a 32-symbol alphabet give 60 bits of randomness
(the issue's floor). The alphabet drops 0/O and 1/I, which people misread and mistype from
print and screens; L stays, since its look-alikes are gone. Input is normalised by
upper-casing and dropping separators, so `vip-abcd efgh` finds `VIPABCDEFGH`.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BITS_PER_SYMBOL = 5  # len(ALPHABET) == 32
RANDOM_SYMBOLS = 12  # 60 bits
GROUP = 4
MAX_PREFIX = 12
MAX_CODE = 64

_SEPARATORS = re.compile(r"[\s\-_.]+")
_VALID = re.compile(r"^[A-Z0-9]+$")

assert len(ALPHABET) == 2**BITS_PER_SYMBOL == len(set(ALPHABET))


def normalise(text: str) -> str:
    """The lookup form of a code as a person or a shop typed it (may be empty)."""
    return _SEPARATORS.sub("", text).upper()


def is_well_formed(normalised: str) -> bool:
    return 0 < len(normalised) <= MAX_CODE and _VALID.match(normalised) is not None


def generate(prefix: str = "", symbols: int = RANDOM_SYMBOLS) -> tuple[str, str]:
    """A new random code as (normalised, display)."""
    if symbols < RANDOM_SYMBOLS:
        raise ValueError(f"a code needs at least {RANDOM_SYMBOLS} random symbols (60 bits)")
    prefix = normalise(prefix)
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(symbols))
    return prefix + random_part, display(random_part, prefix)


def display(random_part: str, prefix: str = "") -> str:
    groups = [random_part[i : i + GROUP] for i in range(0, len(random_part), GROUP)]
    return "-".join([prefix, *groups] if prefix else groups)
