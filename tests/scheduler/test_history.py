"""Expected durations: estimates for tasks without history, and the schedule's wall time."""

from __future__ import annotations

from batchrun.scheduler.history import schedule_wall_s, with_estimates


def test_tasks_without_history_are_expected_to_take_the_median() -> None:
    known = {"a": 10.0, "b": 30.0, "c": 20.0}
    assert with_estimates(["a", "x", "b"], known) == {"a": 10.0, "x": 20.0, "b": 30.0}
    assert with_estimates(["x"], {}) == {}


def test_the_schedule_starts_each_task_on_the_first_free_slot() -> None:
    assert schedule_wall_s([], 3) == 0.0
    assert schedule_wall_s([5.0, 1.0, 1.0, 1.0], 2) == 5.0
    # In file order the long task starts last and ends late; longest first it does not.
    assert schedule_wall_s([1.0, 1.0, 1.0, 5.0], 2) == 6.0
    assert schedule_wall_s(sorted([1.0, 1.0, 1.0, 5.0], reverse=True), 2) == 5.0
