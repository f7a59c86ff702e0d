"""The abuse rules: a registry from reason code to a pure check, per stage.

`arrival` rules run when a friend arrives with a code, `first_order` rules when the friend's
first paid order is known (it may carry a delivery address and a payment fingerprint).
Rules run in registry order and the first that fires is the recorded reason. Adding a rule
is one function and one entry; its code is part of the API (`REASONS`, docs/programme.md).

Outcome reasons that are not abuse are set where they happen: `velocity_cap` (a counter in
SQL, `repository.take_week_slot`), `first_order_cancelled`, `first_order_returned` and
`blocked_by_admin`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArrivalFacts:
    referrer_id: int
    friend_id: int
    referrer_emails: frozenset[str]  # canonical forms (signals.canonical_email)
    friend_emails: frozenset[str]
    referrer_phones: frozenset[str]  # E.164
    friend_phones: frozenset[str]
    friend_existed: bool  # known to Trofast before the event that carried the code
    friend_has_orders: bool  # orders other than the one that carried the code


@dataclass(frozen=True, slots=True)
class FirstOrderFacts:
    same_address: bool  # the first order's address was on one of the referrer's orders
    same_payment: bool


ArrivalRule = Callable[[ArrivalFacts], bool]
FirstOrderRule = Callable[[FirstOrderFacts], bool]

ARRIVAL_RULES: dict[str, ArrivalRule] = {
    "self_referral": lambda f: f.referrer_id == f.friend_id,
    "self_referral_email": lambda f: bool(f.referrer_emails & f.friend_emails),
    "self_referral_phone": lambda f: bool(f.referrer_phones & f.friend_phones),
    "friend_not_new": lambda f: f.friend_existed or f.friend_has_orders,
}

FIRST_ORDER_RULES: dict[str, FirstOrderRule] = {
    "self_referral_address": lambda f: f.same_address,
    "self_referral_payment": lambda f: f.same_payment,
}

OUTCOME_REASONS = (
    "velocity_cap",
    "first_order_cancelled",
    "first_order_returned",
    "blocked_by_admin",
)
REASONS = (*ARRIVAL_RULES, *FIRST_ORDER_RULES, *OUTCOME_REASONS)


def first_arrival_reason(facts: ArrivalFacts) -> str | None:
    return next((reason for reason, rule in ARRIVAL_RULES.items() if rule(facts)), None)


def first_order_reason(facts: FirstOrderFacts) -> str | None:
    return next((reason for reason, rule in FIRST_ORDER_RULES.items() if rule(facts)), None)
