"""The published text patterns mean the same to the JSON Schema and to the API."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from trofast.kit.text import ONE_LINE, VISIBLE


class Note(BaseModel):
    one_line: str = Field(pattern=ONE_LINE)


class Reason(BaseModel):
    visible: str = Field(pattern=VISIBLE)


# The characters where `\s` differs between ECMAScript (the schema) and Python/Rust (the API).
@pytest.mark.parametrize(
    ("text", "one_line", "visible"),
    [
        ("checked by phone", True, True),
        ("blåbær", True, True),
        ("\u023a`\u0085\u0085", False, True),
        ("\u0085\u0085\u0085", False, False),
        ("checked\ufeff", False, True),
        ("\ufeff\ufeff", False, False),
        (" checked", False, True),
        ("two\nlines", False, True),
        ("\t \u3000", False, False),
    ],
)
def test_patterns_accept_and_refuse_the_same_text_everywhere(
    text: str, one_line: bool, visible: bool
) -> None:
    # No `\s` and every class spelled out: Python's `re` reads the pattern as the schema's
    # ECMAScript validator does, and pydantic (Rust regex) must agree with both.
    assert (re.fullmatch(ONE_LINE, text) is not None) is one_line
    assert (re.search(VISIBLE, text) is not None) is visible
    assert _valid(Note, one_line=text) is one_line
    assert _valid(Reason, visible=text) is visible


def _valid(model: type[BaseModel], **fields: str) -> bool:
    try:
        model(**fields)
    except ValidationError:
        return False
    return True
