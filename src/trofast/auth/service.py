"""Create, check and revoke API keys. Keys look like `tf_<prefix>_<secret>`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from trofast.auth import repository
from trofast.auth.errors import ApiKeyNotFound, InvalidApiKey
from trofast.auth.scopes import Scope
from trofast.kit.time import utc_now
from trofast.models import ApiKey


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the full key, shown once and never stored


# `last_used_at` is for humans auditing keys; a minute's precision spares a write per request.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; a slow KDF would only add latency.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str, scopes: list[Scope]) -> CreatedKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hash(secret),
        scopes=sorted({s.value for s in scopes}),
        created_at=utc_now(),
    )
    repository.add(session, key)
    return CreatedKey(key=key, secret=f"tf_{prefix}_{secret}")


def authenticate(session: Session, presented: str) -> ApiKey:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "tf":
        raise InvalidApiKey("malformed API key")
    key = repository.by_prefix(session, parts[1])
    # compare_digest even when the key is unknown would not hide more: the prefix is public.
    if key is None or not hmac.compare_digest(key.key_hash, _hash(parts[2])):
        raise InvalidApiKey("unknown API key")
    if key.revoked_at is not None:
        raise InvalidApiKey("this API key was revoked")
    now = utc_now()
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
        repository.touch(session, key.id, now)
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return repository.list_all(session)


def revoke_key(session: Session, prefix: str) -> None:
    if not repository.revoke(session, prefix, utc_now()):
        raise ApiKeyNotFound(f"no active key with prefix {prefix}")
