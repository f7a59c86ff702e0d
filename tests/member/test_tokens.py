from __future__ import annotations

import pytest

from trofast.member import tokens
from trofast.member.errors import InvalidMemberToken, MemberTokenExpired

SECRET = b"k" * 32


def test_round_trip_until_expiry() -> None:
    token = tokens.issue(SECRET, 42, 2_000_000_000)

    assert token.startswith("tfm1.42.2000000000.")
    assert tokens.read(SECRET, token, 1_999_999_999) == 42
    with pytest.raises(MemberTokenExpired):
        tokens.read(SECRET, token, 2_000_000_000)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.replace("tfm1.42.", "tfm1.43."),  # another member
        lambda t: t.replace(".2000000000.", ".2000000001."),  # a later expiry
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a changed signature
        lambda t: t + "x",
        lambda t: "tfm1.42.2000000000",
        lambda t: "",
    ],
)
def test_forged_tokens_are_refused(forge: object) -> None:
    token = tokens.issue(SECRET, 42, 2_000_000_000)

    with pytest.raises(InvalidMemberToken):
        tokens.read(SECRET, forge(token), 1_000_000_000)  # type: ignore[operator]


def test_another_secret_does_not_verify() -> None:
    token = tokens.issue(SECRET, 42, 2_000_000_000)

    with pytest.raises(InvalidMemberToken):
        tokens.read(b"z" * 32, token, 1_000_000_000)


def test_an_expired_forgery_is_invalid_not_expired() -> None:
    forged = tokens.issue(b"z" * 32, 42, 1_000)

    with pytest.raises(InvalidMemberToken):
        tokens.read(SECRET, forged, 2_000)
