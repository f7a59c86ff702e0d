"""Referral codes: two groups of five (`K7M2Q-9RTHW`), 10 symbols of the coupon alphabet
(50 bits), from `secrets`.

Readable on a phone and in print (no 0/O or 1/I), short enough to type, and unguessable
enough: with ten million members a random guess hits some code once in ~10^8 tries, and a
hit only attributes the guesser to a stranger, whose reward waits for a paid, kept order.
"""

from __future__ import annotations

import secrets

from trofast.coupon.codes import ALPHABET, normalise

SYMBOLS = 10
GROUP = 5

__all__ = ["ALPHABET", "SYMBOLS", "display", "generate", "normalise"]


def generate() -> str:
    """A new code in its stored (normalised) form."""
    return "".join(secrets.choice(ALPHABET) for _ in range(SYMBOLS))


def display(code: str) -> str:
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))
