"""Enrolment: a customer becomes a member, and the programme's welcome bonus follows.

Every way in (the members API, the till, an order's `loyalty_opt_in`) goes through `enrol`,
so the bonus cannot depend on the door a member came through. Becoming a member is one
conditional UPDATE (`is_member = false`), so of racing enrolments exactly one is "the" one;
the bonus is the programme's `signup` action under a reference fixed per member, so even a
member who is enrolled, removed by an admin and enrolled again gets it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from trofast.program import actions, repository
from trofast.program.actions import ActionAward

SIGNUP_ACTION = "signup"
WELCOME_REFERENCE = "enrolment"


def enrol(
    session: Session, customer_id: int, at: datetime, *, event_id: int | None, now: datetime
) -> list[ActionAward] | None:
    """Enrol the customer; None when already a member, else the welcome awards (maybe [])."""
    if not repository.enrol(session, customer_id, at):
        return None
    customer = repository.customer(session, customer_id)
    assert customer is not None
    # The UPDATE bypassed the identity map; the programme checks below read the flag.
    session.refresh(customer, ["is_member", "enrolled_at"])
    return actions.record_action(
        session,
        customer_id,
        SIGNUP_ACTION,
        WELCOME_REFERENCE,
        occurred_at=at,
        event_id=event_id,
        now=now,
    )
