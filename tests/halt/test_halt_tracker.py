"""A nightly batch stops early when its tasks keep failing: the tracker says when."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from batchrun.halt import HaltPolicyValue, HaltTracker, HaltTrip

OK = ("succeeded", None)
FAIL = ("failed", "Checkout button not found")


def ends(*pattern: tuple[str, str | None]) -> list[tuple[str, str, str | None]]:
    """Task ends with ids t1, t2, ... in order."""
    return [(f"t{i}", status, reason) for i, (status, reason) in enumerate(pattern, 1)]


def first_trip(
    tracker: HaltTracker, sequence: list[tuple[str, str, str | None]]
) -> tuple[int, HaltTrip] | None:
    """(1-based position of the end that tripped, trip), or None if it never tripped."""
    for position, (task_id, status, reason) in enumerate(sequence, 1):
        if trip := tracker.record_end(task_id, status, reason):
            return position, trip
    return None


@dataclass(frozen=True)
class Case:
    story: str
    policy: HaltPolicyValue
    sequence: list[tuple[str, str, str | None]]
    trips_at: int | None  # which end trips, None: never
    failures: int = 0
    ended: int = 0


CASES = [
    Case(
        "three failures in a row reach max_failures=3 on the third",
        HaltPolicyValue(max_failures=3),
        ends(FAIL, FAIL, FAIL, FAIL),
        trips_at=3, failures=3, ended=3,
    ),
    Case(
        "successes in between do not reset the failure count",
        HaltPolicyValue(max_failures=2),
        ends(FAIL, OK, OK, FAIL),
        trips_at=4, failures=2, ended=4,
    ),
    Case(
        "one failure short of the limit never trips",
        HaltPolicyValue(max_failures=3),
        ends(FAIL, OK, FAIL, OK, OK),
        trips_at=None,
    ),
    Case(
        "a high rate trips only once min_ended tasks have ended",
        HaltPolicyValue(max_failure_rate=0.5, min_ended=4),
        ends(FAIL, FAIL, FAIL, OK, OK),
        trips_at=4, failures=3, ended=4,
    ),
    Case(
        "a success that brings the count up to min_ended can trip the rate",
        HaltPolicyValue(max_failure_rate=0.5, min_ended=4),
        ends(FAIL, OK, FAIL, OK),
        trips_at=4, failures=2, ended=4,
    ),
    Case(
        "a rate that stays under the limit from min_ended on never trips",
        HaltPolicyValue(max_failure_rate=0.5, min_ended=3),
        ends(OK, FAIL, OK, OK, FAIL, OK),
        trips_at=None,
    ),
    Case(
        "canceled does not count as a failure by default",
        HaltPolicyValue(max_failures=1),
        ends(("canceled", "canceled by user"), OK),
        trips_at=None,
    ),
    Case(
        "canceled counts when the spec lists it in `on`",
        HaltPolicyValue(max_failures=1, on=frozenset({"canceled"})),
        ends(("canceled", None)),
        trips_at=1, failures=1, ended=1,
    ),
    Case(
        "a status left out of `on` still counts as ended, diluting the rate",
        HaltPolicyValue(max_failure_rate=0.5, min_ended=2, on=frozenset({"failed"})),
        ends(("timed_out", None), ("timed_out", None), FAIL),
        trips_at=None,
    ),
    Case(
        "every default failure status counts",
        HaltPolicyValue(max_failures=4),
        ends(("failed", None), ("terminated", None), ("timed_out", None),
             ("invalid_output", None)),
        trips_at=4, failures=4, ended=4,
    ),
    Case(
        "whichever limit is reached first trips: here the count",
        HaltPolicyValue(max_failures=2, max_failure_rate=0.9, min_ended=10),
        ends(FAIL, FAIL),
        trips_at=2, failures=2, ended=2,
    ),
    Case(
        "a rate of 100% trips only when everything failed",
        HaltPolicyValue(max_failure_rate=1.0, min_ended=2),
        ends(FAIL, OK, FAIL, FAIL),
        trips_at=None,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.story)
def test_when_the_batch_halts(case: Case) -> None:
    found = first_trip(HaltTracker(case.policy), case.sequence)
    if case.trips_at is None:
        assert found is None
        return
    assert found is not None
    position, trip = found
    assert position == case.trips_at
    assert (trip.failures, trip.ended) == (case.failures, case.ended)


def test_a_retried_task_ends_once_however_often_it_is_reported() -> None:
    tracker = HaltTracker(HaltPolicyValue(max_failures=2))
    assert tracker.record_end("kettle", "failed", "Page did not load") is None
    # The same task reported again (a retry's end, or a replay after a crash) is ignored,
    # whatever status it now carries.
    assert tracker.record_end("kettle", "failed", "Page did not load") is None
    assert tracker.record_end("kettle", "succeeded", None) is None
    assert (tracker.failures, tracker.ended) == (1, 1)
    assert tracker.record_end("lamp", "failed", None) is not None


def test_the_trip_is_returned_once_and_counting_goes_on() -> None:
    tracker = HaltTracker(HaltPolicyValue(max_failures=1, mode="now"))
    trip = tracker.record_end("a", "failed", None)
    assert trip is not None and trip.mode == "now"
    # Tasks still running when a "soon" halt happens end afterwards: no second trip.
    assert tracker.record_end("b", "failed", None) is None
    assert tracker.tripped is trip
    assert (tracker.failures, tracker.ended) == (2, 2)
    assert trip.failures == 1  # the trip is the count when the limit was reached


def test_a_resumed_batch_counts_the_tasks_that_ended_before() -> None:
    earlier = [("a", "failed", "Page did not load"), ("b", "succeeded", None)]
    tracker = HaltTracker(HaltPolicyValue(max_failures=2))
    assert tracker.resume(earlier) is None
    assert (tracker.failures, tracker.ended) == (1, 2)
    # A task the earlier invocation already counted is not counted again.
    assert tracker.record_end("a", "failed", "Page did not load") is None
    trip = tracker.record_end("c", "failed", "Page did not load")
    assert trip is not None
    assert (
        trip.message
        == 'halted: 2 of 3 ended tasks failed (limit 2); most common: "Page did not load" ×2'
    )


def test_resuming_a_batch_that_already_failed_too_much_trips_at_once() -> None:
    tracker = HaltTracker(HaltPolicyValue(max_failures=2))
    trip = tracker.resume([("a", "failed", None), ("b", "failed", None), ("c", "failed", None)])
    assert trip is not None
    assert (trip.failures, trip.ended) == (2, 2)


def test_without_a_policy_nothing_ever_trips_but_ends_are_counted() -> None:
    tracker = HaltTracker(None)
    assert first_trip(tracker, ends(*[FAIL] * 50)) is None
    assert (tracker.failures, tracker.ended) == (0, 50)


def test_an_unknown_end_status_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown end status 'completed'"):
        HaltTracker(HaltPolicyValue(max_failures=1)).record_end("a", "completed", None)


@dataclass(frozen=True)
class SpecHalt:
    """Stands in for the spec model's `halt` object."""

    max_failures: int | None
    max_failure_rate: float | None
    min_ended: int = 10
    on: frozenset[str] = frozenset({"failed"})
    mode: str = "soon"


def test_the_spec_policy_object_is_used_as_it_is() -> None:
    tracker = HaltTracker(SpecHalt(max_failures=1, max_failure_rate=None, mode="now"))
    assert tracker.record_end("a", "timed_out", None) is None  # not in this spec's `on`
    trip = tracker.record_end("b", "failed", None)
    assert trip is not None and trip.mode == "now"


def test_a_spec_policy_with_a_bad_value_is_refused_before_the_batch_starts() -> None:
    with pytest.raises(ValueError, match="max_failure_rate must be above 0 and at most 1"):
        HaltTracker(SpecHalt(max_failures=None, max_failure_rate=30.0))
