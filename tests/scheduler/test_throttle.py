"""The throttle: 429s on submissions cut the runs in flight and pause; quiet brings them back."""

from __future__ import annotations

import anyio

from batchrun.scheduler.throttle import CUT_SPACING_S, Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_429s_is_one_cut_and_quiet_recovers_one_slot_at_a_time() -> None:
    clock = FakeClock()
    limiter = anyio.CapacityLimiter(10)
    cuts: list[int] = []
    throttle = Throttle(limiter, 10, on_cut=lambda limit, _: cuts.append(limit), clock=clock)

    for _ in range(5):  # answers to requests all sent before the first 429
        throttle.hit(None)
    assert throttle.limit == 7 and cuts == [7]

    clock.now += CUT_SPACING_S
    throttle.hit(2.0)
    assert throttle.limit == 4 and cuts == [7, 4]

    for _ in range(4):
        throttle.success()
    assert throttle.limit == 5
    for _ in range(100):
        throttle.success()
    assert throttle.limit == 10  # never above the configured concurrency


def test_the_window_never_drops_below_one() -> None:
    clock = FakeClock()
    throttle = Throttle(anyio.CapacityLimiter(2), 2, clock=clock)
    for _ in range(10):
        clock.now += CUT_SPACING_S
        throttle.hit(None)
    assert throttle.limit == 1


def test_a_pause_honours_retry_after_and_grows_without_it() -> None:
    clock = FakeClock()
    throttle = Throttle(anyio.CapacityLimiter(4), 4, clock=clock)
    throttle.hit(3.0)
    assert throttle.pause_remaining == 3.0
    throttle.hit(None)  # no hint: 2 s, then 4 s, doubling
    throttle.hit(None)
    assert throttle.pause_remaining == 4.0
    throttle.success()  # a success resets the growth, but not a pause already in force
    throttle.hit(None)
    assert throttle.pause_remaining == 4.0
    clock.now += 4.0
    assert throttle.pause_remaining == 0.0


def test_a_ceiling_bounds_the_window_without_changing_it() -> None:
    clock = FakeClock()
    limiter = anyio.CapacityLimiter(10)
    throttle = Throttle(limiter, 10, clock=clock)
    throttle.set_ceiling(4)
    assert throttle.limit == 4 and throttle.window == 10
    for _ in range(100):
        throttle.success()
    assert throttle.limit == 4  # quiet does not lift the account's ceiling
    throttle.hit(None)
    assert throttle.limit == 2 and throttle.window == 2  # a cut starts from what is in flight
    throttle.set_ceiling(None)
    for _ in range(100):
        throttle.success()
    assert throttle.limit == 10
