"""The one decision about a task, as a table: every stored state x the spec's version of the
task x the user's retry flags. `plan`, `apply` and `status` all act on exactly this."""

from __future__ import annotations

import itertools

import pytest

from batchrun.decide import FAILURE_END_STATUSES, Action, RetryRequest, decide
from batchrun.state import StoredTask

SAME, OTHER = "hash-1", "hash-2"

# (stored state, end status, attempts) for every state a task can be stored in.
STORED = {
    "none": None,
    "pending (never submitted)": ("pending", None, 0),
    "pending (after a not-created attempt)": ("pending", None, 1),
    "submitting": ("submitting", None, 1),
    "running": ("running", None, 1),
    "retry_wait": ("retry_wait", None, 1),
    "succeeded": ("succeeded", "succeeded", 1),
    "failed": ("failed", "failed", 3),
    "terminated": ("failed", "terminated", 1),
    "timed_out": ("failed", "timed_out", 1),
    "invalid_output": ("failed", "invalid_output", 2),
    "canceled": ("canceled", "canceled", 1),
}
ENDED_WITHOUT_SUCCESS = ("failed", "terminated", "timed_out", "invalid_output", "canceled")

# What happens with no flags, by stored state: (request unchanged, request changed).
EXPECTED = {
    "none": (Action.CREATE, Action.CREATE),
    "pending (never submitted)": (Action.CREATE, Action.CREATE),
    "pending (after a not-created attempt)": (Action.RESUME, Action.CHANGED),
    "submitting": (Action.RESUME, Action.RESUME),  # a run may exist: never abandoned
    "running": (Action.RESUME, Action.RESUME),
    "retry_wait": (Action.RESUME, Action.CHANGED),
    "succeeded": (Action.SKIP, Action.CHANGED),
    **{name: (Action.KEEP, Action.CHANGED) for name in ENDED_WITHOUT_SUCCESS},
}

FLAGS = {
    "no flags": RetryRequest(),
    "--retry-failed": RetryRequest.of(retry_failed=True),
    "--retry terminated": RetryRequest.of(statuses=["terminated"]),
    "--retry failed --retry canceled": RetryRequest.of(statuses=["failed", "canceled"]),
}


def stored(name: str) -> StoredTask | None:
    row = STORED[name]
    if row is None:
        return None
    state, end_status, attempts = row
    return StoredTask("t", state, SAME, attempts, end_status)


def expected(name: str, change: str, flags: RetryRequest) -> Action:
    if change == "removed":
        return Action.REMOVE
    unchanged, changed = EXPECTED[name]
    if change == "changed":
        return changed
    if unchanged == Action.KEEP and name in flags.statuses:
        return Action.RETRY  # the user asked for tasks that ended so
    return unchanged


CASES = [
    (name, change, flag)
    for name, change, flag in itertools.product(STORED, ("unchanged", "changed", "removed"), FLAGS)
    if not (name == "none" and change == "removed")  # a task must be somewhere
]


@pytest.mark.parametrize(("name", "change", "flag"), CASES)
def test_the_decision_table(name: str, change: str, flag: str) -> None:
    spec_hash = {"unchanged": SAME, "changed": OTHER, "removed": None}[change]
    action = decide(stored(name), spec_hash, FLAGS[flag])
    assert action == expected(name, change, FLAGS[flag])


def test_retry_failed_means_every_way_of_ending_without_success() -> None:
    assert RetryRequest.of(retry_failed=True).statuses == frozenset(FAILURE_END_STATUSES)
    assert not RetryRequest.of(retry_failed=True).wants("succeeded")


def test_an_unknown_end_status_to_retry_is_refused() -> None:
    with pytest.raises(ValueError, match="exploded"):
        RetryRequest.of(statuses=["exploded"])


def test_a_task_neither_stored_nor_in_the_spec_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        decide(None, None)
