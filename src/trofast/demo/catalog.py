"""The demo shop's catalogue: a Nordic outdoor-clothing shop, prices in NOK (kroner)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    brand: str
    price: int  # whole kroner
    sustainable: bool = False


_RAW = [
    (
        "Klær",
        "Fjellvind",
        [
            ("Ullgenser", 899),
            ("Dunjakke", 2499),
            ("Regnjakke", 1799),
            ("Fleecejakke", 999),
            ("Turbukse", 1199),
            ("Ullundertøy", 599),
        ],
    ),
    (
        "Sko",
        "Stiglo",
        [("Fjellstøvel", 2199), ("Joggesko", 1299), ("Vintersko", 1699), ("Sandal", 599)],
    ),
    (
        "Tilbehør",
        "Nordlys",
        [
            ("Ullue", 299),
            ("Votter", 349),
            ("Skjerf", 399),
            ("Sekk 30L", 1099),
            ("Termos", 449),
            ("Hodelykt", 499),
        ],
    ),
    (
        "Sport",
        "Isbre",
        [
            ("Skismøring", 199),
            ("Staver", 799),
            ("Klatresele", 899),
            ("Sovepose", 1999),
            ("Telt 2p", 3999),
        ],
    ),
    (
        "Hjem",
        "Hytte",
        [("Ullpledd", 1199), ("Kopp emalje", 149), ("Lykt", 399), ("Sitteunderlag", 129)],
    ),
]

PRODUCTS: list[DemoProduct] = [
    DemoProduct(
        sku=f"{category[:3].upper()}-{n:03d}",
        name=name,
        category=category,
        brand=brand,
        price=price,
        # Every third product is marked sustainable (recycled or repaired goods).
        sustainable=n % 3 == 0,
    )
    for category, brand, items in _RAW
    for n, (name, price) in enumerate(items, start=1)
]

STORES = ["oslo-sentrum", "bergen-bryggen", "trondheim-torget"]

FIRST_NAMES = [
    "Kari",
    "Ola",
    "Ingrid",
    "Lars",
    "Sofie",
    "Emil",
    "Nora",
    "Jakob",
    "Emma",
    "Henrik",
    "Sara",
    "Magnus",
    "Ida",
    "Sander",
    "Thea",
    "Jonas",
    "Maja",
    "Elias",
]
LAST_NAMES = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Berg",
    "Haugen",
    "Dahl",
    "Lie",
]
