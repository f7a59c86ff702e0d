"""Pure normalisations that make two people's keys comparable for self-referral checks.

E-mail: the local part loses its dots and everything from the first `+`, on every domain,
not only Gmail's. Many providers ignore dots or deliver plus-addresses (Gmail, Outlook,
Fastmail, ProtonMail, iCloud, custom domains with catch-alls), and a list of domains goes
stale; two real people whose addresses differ only in dots at the same domain are rare,
and an admin can approve them. `googlemail.com` is `gmail.com`.

Address: case, punctuation and spacing are dropped and the parts joined; the result is
hashed, so Trofast stores no delivery address. Payment fingerprints are hashed too.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from trofast.ingest.schemas import AddressIn

_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def canonical_email(email: str) -> str:
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{_DOMAIN_ALIASES.get(domain, domain)}"


def _fold(text: str | None) -> str:
    if not text:
        return ""
    # "Storgata 1 B" and "storgata 1b." are one door. Accents that decompose are dropped
    # (é → e, as shops and couriers write them either way); ø, æ and å do not decompose and
    # stay distinct letters.
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return _NOT_WORD.sub("", plain)


def address_fingerprint(address: AddressIn) -> str:
    parts = [address.line1, address.line2, address.postal_code, address.city, address.country]
    return _digest("address", "|".join(_fold(part) for part in parts))


def payment_fingerprint(value: str) -> str:
    return _digest("payment", value.strip())


def _digest(kind: str, text: str) -> str:
    return hashlib.sha256(f"{kind}\x00{text}".encode()).hexdigest()
