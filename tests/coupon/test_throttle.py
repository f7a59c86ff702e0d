from __future__ import annotations

from trofast.coupon.throttle import GuessThrottle, Limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_at_the_limit_and_frees_when_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = GuessThrottle({"ip": Limit(3, 60)}, clock)

    for step in range(3):
        assert throttle.retry_after(["ip:a"]) is None
        assert throttle.record_failure(["ip:a"]) == {"ip:a": step + 1}
        clock.now += 10

    # Failures at 1000, 1010, 1020; now 1030: the first leaves the window at 1060.
    assert throttle.retry_after(["ip:a"]) == 30
    assert throttle.retry_after(["ip:b"]) is None
    clock.now = 1059.5
    assert throttle.retry_after(["ip:a"]) == 1
    clock.now = 1060
    assert throttle.retry_after(["ip:a"]) is None


def test_each_bucket_kind_has_its_own_limit() -> None:
    clock = Clock()
    throttle = GuessThrottle({"ip": Limit(2, 60), "key": Limit(4, 60)}, clock)

    for address in ("a", "a", "b", "b"):
        throttle.record_failure([f"ip:{address}", "key:1"])

    assert throttle.retry_after(["ip:c", "key:1"]) == 60
    assert throttle.retry_after(["ip:c", "key:2"]) is None
    assert throttle.retry_after(["ip:a", "key:2"]) == 60


def test_idle_buckets_are_swept() -> None:
    clock = Clock()
    throttle = GuessThrottle({"ip": Limit(2, 60)}, clock)
    throttle.SWEEP_ABOVE = 10  # type: ignore[misc]
    for n in range(11):
        throttle.record_failure([f"ip:{n}"])
    clock.now += 61

    throttle.record_failure(["ip:new"])

    assert list(throttle._failures) == ["ip:new"]
