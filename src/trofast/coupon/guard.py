"""The request side of guess throttling: which buckets a call counts in, and the log lines."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from fastapi import Request

from trofast.config import Settings
from trofast.coupon.errors import TooManyInvalidCodes
from trofast.coupon.throttle import GuessThrottle, Limit

log = logging.getLogger("trofast.coupon.guessing")


def build_throttle(settings: Settings) -> GuessThrottle:
    window = settings.coupon_guess_window_seconds
    return GuessThrottle(
        {
            "ip": Limit(settings.coupon_guess_limit_per_ip, window),
            "key": Limit(settings.coupon_guess_limit_per_key, window),
        }
    )


def _client(request: Request, shopper_ip: str | None) -> str:
    # A shop server calls on behalf of many shoppers: the address it forwards is the one to
    # throttle; without it, the connection's own address is all there is.
    if shopper_ip:
        try:
            return str(ipaddress.ip_address(shopper_ip.strip()))
        except ValueError:
            return shopper_ip.strip()[:64]
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Guard:
    throttle: GuessThrottle
    api_key_id: int
    client: str

    @classmethod
    def of(cls, request: Request, api_key_id: int, shopper_ip: str | None) -> Guard:
        throttle: GuessThrottle = request.app.state.coupon_throttle
        return cls(throttle, api_key_id, _client(request, shopper_ip))

    @property
    def buckets(self) -> tuple[str, str]:
        return (f"key:{self.api_key_id}", f"ip:{self.client}")

    def check(self) -> None:
        """Refuse a caller that is blocked, before it can test another code."""
        wait = self.throttle.retry_after(self.buckets)
        if wait is not None:
            log.warning(
                "coupon_guess_throttled api_key_id=%s client=%s retry_after=%s",
                self.api_key_id,
                self.client,
                wait,
                extra={
                    "event": "coupon_guess_throttled",
                    "api_key_id": self.api_key_id,
                    "client": self.client,
                    "retry_after": wait,
                },
            )
            raise TooManyInvalidCodes(
                "too many unknown coupon codes; try again later",
                detail={"retry_after": wait},
                headers={"Retry-After": str(wait)},
            )

    def failed(self) -> None:
        """Count an unknown code against this key and client."""
        counts = self.throttle.record_failure(self.buckets)
        key_bucket, ip_bucket = self.buckets
        log.warning(
            "coupon_code_invalid api_key_id=%s client=%s failures_key=%s failures_client=%s",
            self.api_key_id,
            self.client,
            counts[key_bucket],
            counts[ip_bucket],
            extra={
                "event": "coupon_code_invalid",
                "api_key_id": self.api_key_id,
                "client": self.client,
                "failures_key": counts[key_bucket],
                "failures_client": counts[ip_bucket],
            },
        )
