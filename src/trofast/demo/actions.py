"""Action events of the demo shop: sign-ups, newsletter opt-ins, reviews and surveys.

Generated from their own random stream, so adding them left the demo's orders unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from trofast.demo.generator import SOURCE

Event = dict[str, Any]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def action_events(customers: int, seed: int, end: datetime) -> Iterator[Event]:
    """Per customer: a sign-up, maybe a newsletter opt-in, a few reviews and surveys."""
    rng = random.Random(seed * 7919 + 1)
    start = end - timedelta(days=365)
    for n in range(1, customers + 1):
        joined = start + timedelta(days=rng.uniform(0, 330))
        actions = [("signup", "signup", joined)]
        if rng.random() < 0.5:
            actions.append(("newsletter_optin", "email", joined + timedelta(minutes=5)))
        for i in range(rng.choice([0, 0, 0, 1, 1, 2, 4])):
            at = joined + timedelta(days=rng.uniform(1, (end - joined).days or 1))
            actions.append(("product_review", f"review-{n}-{i}", at))
        for i in range(rng.choice([0, 0, 1, 3])):
            at = joined + timedelta(days=rng.uniform(1, (end - joined).days or 1))
            actions.append(("survey_answered", f"survey-{n}-{i}", at))
        for action, reference, at in actions:
            yield {
                "idempotency_key": f"demo:action:{n}:{reference}",
                "type": "action.completed",
                "occurred_at": _iso(min(at, end)),
                "source": SOURCE,
                "customer": {"external_id": f"c{n}"},
                "action": action,
                "reference": reference,
            }
