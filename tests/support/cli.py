"""Helpers for asserting on CLI output."""

from __future__ import annotations


def flat(output: str) -> str:
    """The output with every run of whitespace as one space.

    Rich wraps messages at the terminal width, which is 80 columns under a test runner
    and depends on path lengths, so substring checks must not depend on where lines break.
    """
    return " ".join(output.split())
