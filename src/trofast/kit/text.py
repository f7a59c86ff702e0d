"""Text patterns the API publishes in its JSON Schema and enforces with pydantic.

The character classes are spelled out: `\\s` means Unicode White_Space to pydantic's and
Python's regexes (with U+0085, without U+FEFF) and ECMAScript's set to a JSON Schema
validator (the other way round), so a pattern using it accepted in the schema what the API
refused with a 422 (Schemathesis found a reason ending in U+0085).
"""

from __future__ import annotations

CONTROL = r"\x00-\x1f\x7f-\x9f"
SPACE = r"\x20\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

# One line without control characters, not starting or ending with a space.
ONE_LINE = rf"^[^{CONTROL}{SPACE}]([^{CONTROL}]*[^{CONTROL}{SPACE}])?$"
# Anything with at least one visible character in it.
VISIBLE = rf"[^{CONTROL}{SPACE}]"
