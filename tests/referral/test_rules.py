"""The pure parts: the rule registry, e-mail canonical forms, address fingerprints, codes."""

from __future__ import annotations

import re

import pytest

from trofast.ingest.schemas import AddressIn
from trofast.referral import codes, rules, signals


def _facts(**changes: object) -> rules.ArrivalFacts:
    base = {
        "referrer_id": 1,
        "friend_id": 2,
        "referrer_emails": frozenset({"kari@gmail.com"}),
        "friend_emails": frozenset({"ola@example.no"}),
        "referrer_phones": frozenset({"+4791234567"}),
        "friend_phones": frozenset({"+4798765432"}),
        "friend_existed": False,
        "friend_has_orders": False,
    }
    return rules.ArrivalFacts(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"friend_id": 1}, "self_referral"),
        ({"friend_emails": frozenset({"kari@gmail.com"})}, "self_referral_email"),
        ({"friend_phones": frozenset({"+4791234567"})}, "self_referral_phone"),
        ({"friend_existed": True}, "friend_not_new"),
        ({"friend_has_orders": True}, "friend_not_new"),
        # The first rule in registry order is the one recorded.
        ({"friend_id": 1, "friend_existed": True}, "self_referral"),
    ],
)
def test_arrival_rules(changes: dict[str, object], reason: str | None) -> None:
    assert rules.first_arrival_reason(_facts(**changes)) == reason


@pytest.mark.parametrize(
    ("address", "payment", "reason"),
    [
        (False, False, None),
        (True, False, "self_referral_address"),
        (False, True, "self_referral_payment"),
        (True, True, "self_referral_address"),
    ],
)
def test_first_order_rules(address: bool, payment: bool, reason: str | None) -> None:
    facts = rules.FirstOrderFacts(same_address=address, same_payment=payment)
    assert rules.first_order_reason(facts) == reason


def test_every_reason_is_listed_once() -> None:
    assert len(rules.REASONS) == len(set(rules.REASONS)) == 10


@pytest.mark.parametrize(
    ("email", "canonical"),
    [
        ("Kari.Nordmann+shop@Gmail.com", "karinordmann@gmail.com"),
        ("kari.nordmann@googlemail.com", "karinordmann@gmail.com"),
        ("per+a+b@butikk.no", "per@butikk.no"),
        ("per@butikk.no", "per@butikk.no"),
        ("not-an-email", "not-an-email"),
    ],
)
def test_canonical_email(email: str, canonical: str) -> None:
    assert signals.canonical_email(email) == canonical


def test_address_fingerprint_ignores_case_spacing_and_punctuation() -> None:
    a = AddressIn(line1="Storgata 1 B", postal_code="0155", city="Oslo", country="NO")
    b = AddressIn(line1="STORGATA 1b.", postal_code=" 0155", city="oslo", country="no")
    c = AddressIn(line1="Storgata 1 C", postal_code="0155", city="Oslo", country="NO")

    assert signals.address_fingerprint(a) == signals.address_fingerprint(b)
    assert signals.address_fingerprint(a) != signals.address_fingerprint(c)
    assert re.fullmatch(r"[0-9a-f]{64}", signals.address_fingerprint(a))


def test_payment_and_address_fingerprints_never_collide_by_kind() -> None:
    assert signals.payment_fingerprint("x") != signals.address_fingerprint(AddressIn(line1="x"))


def test_codes_are_readable_and_random() -> None:
    made = {codes.generate() for _ in range(200)}

    assert len(made) == 200
    for code in made:
        assert re.fullmatch(f"[{codes.ALPHABET}]{{10}}", code)
    assert codes.display("ABCDEFGHJK") == "ABCDE-FGHJK"
    assert codes.normalise("abcde-fghjk") == "ABCDEFGHJK"
