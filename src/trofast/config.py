"""One settings object for the whole service, read from `TROFAST_*` variables and `.env`."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / '.trofast' / 'trofast.db'}"


class Settings(BaseSettings):
    """Service configuration.

    Every field maps to an environment variable with the `TROFAST_` prefix, e.g.
    `TROFAST_DATABASE_URL`. Outside development the settings refuse unsafe defaults.
    """

    model_config = SettingsConfigDict(env_prefix="TROFAST_", env_file=".env", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = Field(default_factory=_default_database_url)
    database_echo: bool = False
    database_pool_size: int = 10
    # The shop's accounting currency: every amount is reported in it.
    currency: str = "NOK"
    # A single-shop Shopify install may configure its webhook secret here instead of
    # `trofast sources add shopify`.
    shopify_secret: SecretStr | None = None
    woocommerce_secret: SecretStr | None = None
    # Bodies above this size are refused with 413 before they are parsed.
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_events: int = 1000
    # What one loyalty point is worth in minor units of `currency`, for the points liability
    # in the analytics KPIs until a programme document states its own value.
    point_value_minor: float = Field(default=1.0, ge=0)
    # Signs member tokens for the shop front. Required outside development and test; there
    # a random key per process is used, so tokens die with the process.
    secret_key: SecretStr | None = None
    # Receipt claims that match no receipt, per member and per client address within the
    # window → 429: a receipt number and amount are the proof of purchase, not to be guessed.
    claim_guess_window_seconds: int = 3600
    claim_guess_limit_per_member: int = 10
    claim_guess_limit_per_ip: int = 30
    # Till lookups that find no member, per POS key within the window → 429: a till asks
    # about the customer in front of it, not about a list of phone numbers.
    lookup_miss_window_seconds: int = 600
    lookup_miss_limit_per_key: int = 300
    # The shop's public address: referral links are `{public_url}/r/{code}`, a page of the
    # shop that keeps the code and sends it with the new customer (docs/programme.md).
    public_url: str | None = None
    # Guessing coupon codes: this many unknown codes within the window → 429 (per client
    # address, and per API key, whose limit is higher since one shop server speaks for many
    # customers).
    coupon_guess_window_seconds: int = 600
    coupon_guess_limit_per_ip: int = 20
    coupon_guess_limit_per_key: int = 200
    # A key that passed its check is trusted for this long by the worker that checked it
    # (a transaction fewer per request); so a revoked key may still work this long.
    # 0 checks every request.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment is Environment.production and self.database_url.startswith("sqlite"):
            # SQLite is fine for one process; production means several workers behind a
            # load balancer, which need a server database.
            raise ValueError("TROFAST_DATABASE_URL must point at PostgreSQL in production")
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
            if self.environment is Environment.production:
                # Anyone who knows the key can act as any member on the shop front.
                raise ValueError("TROFAST_SECRET_KEY must be set (32+ characters) in production")
            if self.secret_key is None:
                self.secret_key = SecretStr(secrets.token_urlsafe(32))
        self.currency = self.currency.upper()
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
