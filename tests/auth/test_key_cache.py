"""A worker trusts a key that passed its check for `api_key_cache_seconds`, no longer."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from trofast.auth import service as auth
from trofast.auth.cache import MAX_KEYS, KeyCache
from trofast.auth.scopes import Scope
from trofast.models import ApiKey


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(key_id: int) -> ApiKey:
    return ApiKey(id=key_id, name="till", prefix=f"p{key_id}", key_hash="-", scopes=["pos"])


def test_a_key_is_remembered_until_its_time_is_up() -> None:
    clock = Clock()
    cache = KeyCache(5, clock)
    key = _key(1)

    cache.put("tf_p1_secret", key)
    clock.now += 4.9
    remembered = cache.get("tf_p1_secret")
    clock.now += 0.1
    forgotten = cache.get("tf_p1_secret")

    assert (remembered, forgotten) == (key, None)
    assert cache.get("tf_p1_other") is None


def test_zero_seconds_remembers_nothing() -> None:
    cache = KeyCache(0, Clock())

    cache.put("tf_p1_secret", _key(1))

    assert cache.get("tf_p1_secret") is None


def test_a_full_cache_makes_room_from_expired_keys_only() -> None:
    clock = Clock()
    cache = KeyCache(5, clock)
    for n in range(MAX_KEYS):
        cache.put(f"tf_old_{n}", _key(n))

    cache.put("tf_full_0", _key(-1))  # all still live: not remembered, still checked
    clock.now += 6
    cache.put("tf_new_0", _key(-2))  # the expired ones go

    assert cache.get("tf_full_0") is None
    assert cache.get("tf_new_0") is not None


def _orders(client: TestClient, secret: str) -> tuple[int, str | None]:
    response = client.get("/v1/orders", headers={"Authorization": f"Bearer {secret}"})
    return response.status_code, response.json().get("code") if response.is_error else None


def test_a_revoked_key_works_until_the_cached_check_expires(
    app_client: TestClient, db_session: Session
) -> None:
    clock = Clock()
    app_client.app.state.key_cache = KeyCache(5, clock)  # type: ignore[attr-defined]
    created = auth.create_key(db_session, "ops", [Scope.admin])
    first = _orders(app_client, created.secret)
    auth.revoke_key(db_session, created.key.prefix)

    within = _orders(app_client, created.secret)
    clock.now += 5
    after = _orders(app_client, created.secret)

    assert (first, within, after) == ((200, None), (200, None), (401, "invalid_api_key"))


def test_without_a_cache_revocation_is_immediate(
    app_client: TestClient, db_session: Session
) -> None:
    app_client.app.state.key_cache = KeyCache(0)  # type: ignore[attr-defined]
    created = auth.create_key(db_session, "ops", [Scope.admin])
    first = _orders(app_client, created.secret)
    auth.revoke_key(db_session, created.key.prefix)

    assert (first, _orders(app_client, created.secret)) == ((200, None), (401, "invalid_api_key"))
