"""Hypothesis strategies shared by the programme state machine's rule modules."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.program.model import Line

# An order's lines.
LINES = st.lists(
    st.builds(
        Line,
        quantity=st.integers(1, 3),
        unit_minor=st.integers(100, 40_000),
        wool=st.booleans(),
        # One line in six is a gift card (and not the simplest case Hypothesis tries first).
        gift_card=st.integers(0, 5).map(lambda n: n == 5),
    ),
    min_size=1,
    max_size=3,
)
