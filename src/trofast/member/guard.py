"""Brakes on guessing in the member domain: failed receipt claims and till lookups that miss.

The sliding-window log is the coupon domain's (`coupon.throttle`): only failures count, and a
blocked caller is refused before the lookup, so it learns nothing more while blocked. Claims
count per member and per client address (a receipt number and amount are a proof of
purchase); lookups count per POS key (a till asks about the customer in front of it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import Request

from trofast.config import Settings
from trofast.coupon.throttle import GuessThrottle, Limit
from trofast.errors import TooManyRequests
from trofast.member.errors import TooManyFailedClaims, TooManyLookupMisses

log = logging.getLogger("trofast.member.guessing")


def build_throttle(settings: Settings) -> GuessThrottle:
    claims = settings.claim_guess_window_seconds
    return GuessThrottle(
        {
            "claim-member": Limit(settings.claim_guess_limit_per_member, claims),
            "claim-ip": Limit(settings.claim_guess_limit_per_ip, claims),
            "lookup-key": Limit(
                settings.lookup_miss_limit_per_key, settings.lookup_miss_window_seconds
            ),
        }
    )


@dataclass(frozen=True)
class Brake:
    throttle: GuessThrottle
    buckets: tuple[str, ...]
    error: type[TooManyRequests]
    what: str  # the log event's name

    @classmethod
    def for_claims(cls, request: Request, member_id: int) -> Brake:
        client = request.client.host if request.client else "unknown"
        return cls(
            request.app.state.member_throttle,
            (f"claim-member:{member_id}", f"claim-ip:{client}"),
            TooManyFailedClaims,
            "receipt_claim",
        )

    @classmethod
    def for_lookups(cls, request: Request, api_key_id: int) -> Brake:
        return cls(
            request.app.state.member_throttle,
            (f"lookup-key:{api_key_id}",),
            TooManyLookupMisses,
            "member_lookup",
        )

    def check(self) -> None:
        """Refuse a caller that is blocked, before it can try again."""
        wait = self.throttle.retry_after(self.buckets)
        if wait is None:
            return
        log.warning(
            "%s_throttled buckets=%s retry_after=%s",
            self.what,
            ",".join(self.buckets),
            wait,
            extra={"event": f"{self.what}_throttled", "buckets": self.buckets, "retry_after": wait},
        )
        raise self.error(
            "too many failed attempts; try again later",
            detail={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )

    def failed(self) -> None:
        counts = self.throttle.record_failure(self.buckets)
        log.info(
            "%s_failed %s",
            self.what,
            " ".join(f"{bucket}={n}" for bucket, n in counts.items()),
            extra={"event": f"{self.what}_failed", "failures": counts},
        )
