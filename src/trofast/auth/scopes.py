from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What a key may do. `admin` may do everything; the others are narrow on purpose."""

    admin = "admin"
    ingest = "ingest"
    pos = "pos"
    storefront = "storefront"


def allows(granted: list[str], needed: Scope) -> bool:
    return Scope.admin.value in granted or needed.value in granted
