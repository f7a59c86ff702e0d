"""Test data kept in the repository."""

from __future__ import annotations

from pathlib import Path

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow"
