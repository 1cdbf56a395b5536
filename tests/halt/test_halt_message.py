"""What the user reads when a batch halts: one line, in the log and in summary.json."""

from __future__ import annotations

import pytest

from batchrun.halt import HaltPolicyValue, HaltTracker, normalise_reason


def trip_message(policy: HaltPolicyValue, sequence: list[tuple[str, str | None]]) -> str:
    tracker = HaltTracker(policy)
    for i, (status, reason) in enumerate(sequence):
        if trip := tracker.record_end(f"t{i}", status, reason):
            return trip.message
    raise AssertionError("the tracker never tripped")


def test_the_issue_example_eight_of_eleven() -> None:
    sequence = [
        ("failed", "Checkout button not found"),
        ("succeeded", None),
        ("failed", "Page did not load"),
        ("failed", "Checkout button not found"),
        ("succeeded", None),
        ("failed", "Checkout button not found"),
        ("failed", "  Checkout button\n not   found "),  # same failure, messier text
        ("succeeded", None),
        ("failed", "Page did not load"),
        ("failed", "Checkout button not found"),
        ("failed", "Checkout button not found"),
    ]
    assert trip_message(HaltPolicyValue(max_failures=8), sequence) == (
        "halted: 8 of 11 ended tasks failed (limit 8); most common: "
        '"Checkout button not found" ×6, "Page did not load" ×2'
    )


def test_only_the_three_most_common_reasons_are_named_ties_in_order_met() -> None:
    sequence = [("failed", r) for r in ["D", "A", "B", "C", "A", "B", "C", "A"]]
    message = trip_message(HaltPolicyValue(max_failures=8), sequence)
    assert message.endswith('most common: "A" ×3, "B" ×2, "C" ×2')


def test_failures_without_a_reason_name_no_reasons() -> None:
    message = trip_message(HaltPolicyValue(max_failures=1), [("timed_out", None)])
    assert message == "halted: 1 of 1 ended task failed (limit 1)"


def test_a_rate_trip_says_the_rate_and_the_limit() -> None:
    policy = HaltPolicyValue(max_failure_rate=0.3, min_ended=3)
    sequence = [("succeeded", None), ("succeeded", None), ("failed", "Page did not load")]
    assert trip_message(policy, sequence) == (
        "halted: 1 of 3 ended tasks failed (33.3%, limit 30% after 3 ended); "
        'most common: "Page did not load" ×1'
    )


def test_as_dict_is_the_summary_json_object() -> None:
    tracker = HaltTracker(HaltPolicyValue(max_failures=1, mode="now"))
    trip = tracker.record_end("a", "failed", "boom")
    assert trip is not None
    assert trip.as_dict() == {
        "reason": 'halted: 1 of 1 ended task failed (limit 1); most common: "boom" ×1',
        "failures": 1,
        "ended": 1,
        "mode": "now",
    }


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Page did not load", "Page did not load"),
        ("  Page did\tnot\n\nload  ", "Page did not load"),
        ("x" * 80, "x" * 80),
        ("x" * 81, "x" * 79 + "…"),
        ("word " * 30, ("word " * 16).strip() + "…"),  # no space left before the ellipsis
    ],
)
def test_reasons_are_normalised_so_the_same_failure_groups(raw: str, normalised: str) -> None:
    assert normalise_reason(raw) == normalised
    assert len(normalise_reason(raw)) <= 80


def test_blank_reasons_are_not_named() -> None:
    message = trip_message(HaltPolicyValue(max_failures=1), [("failed", "   ")])
    assert "most common" not in message
