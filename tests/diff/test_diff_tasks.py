"""Last night against tonight: which tasks were added, removed, broke, recovered, changed."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from batchrun.diffing import MISSING, BatchDiff, DiffInputError, TaskEntry, compute_diff


def row(task: str, status: str = "succeeded", output: Any = None, **extra: Any) -> dict[str, Any]:
    return {"task": task, "status": status, "output": output, **extra}


def diff_of(
    old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]], **kwargs: Any
) -> BatchDiff:
    return compute_diff(old, new, from_key="2026-12-03", to_key="2026-12-04", **kwargs)


CATEGORY_CASES = [
    # story, old row (None: absent), new row (None: absent), category it lands in
    ("same output both nights", row("t", output={"p": 1}), row("t", output={"p": 1}), "unchanged"),
    ("a price changed", row("t", output={"p": 1}), row("t", output={"p": 2}), "changed"),
    ("a task new in the spec", None, row("t"), "added"),
    ("a task gone from the spec", row("t"), None, "removed"),
    ("succeeded, now failed", row("t"), row("t", "failed", failure_reason="boom"), "newly_failed"),
    ("succeeded, now canceled", row("t"), row("t", "canceled"), "newly_failed"),
    ("succeeded, still running tonight", row("t"), row("t", "running"), "newly_failed"),
    ("failed, now succeeded", row("t", "failed"), row("t"), "recovered"),
    ("never ran, now succeeded", row("t", "pending"), row("t"), "recovered"),
    ("failed both nights the same way", row("t", "failed"), row("t", "failed"), "unchanged"),
    ("failed, then canceled: neither succeeded", row("t", "failed"), row("t", "canceled"),
     "unchanged"),
    ("a row without a status did not succeed", {"task": "t", "output": None}, row("t"),
     "recovered"),
]  # fmt: skip

CATEGORIES = ("changed", "added", "removed", "newly_failed", "recovered", "unchanged")


@pytest.mark.parametrize(
    ("story", "old", "new", "category"), CATEGORY_CASES, ids=[c[0] for c in CATEGORY_CASES]
)
def test_each_task_lands_in_exactly_one_category(
    story: str, old: dict[str, Any] | None, new: dict[str, Any] | None, category: str
) -> None:
    diff = diff_of([old] if old else [], [new] if new else [])
    sizes = {
        name: diff.unchanged if name == "unchanged" else len(getattr(diff, name))
        for name in CATEGORIES
    }
    assert sizes == {name: int(name == category) for name in CATEGORIES}
    assert diff.has_differences is (category != "unchanged")


def test_a_nightly_batch_with_one_of_everything() -> None:
    old = [
        row("kettle", output={"price": 19.99, "in_stock": True}),
        row("lamp", output={"price": 5}),
        row("chair", output={"price": 80}),
        row("desk", "failed", failure_reason="Page did not load"),
        row("retired", output={"price": 1}),
    ]
    new = [
        row("kettle", output={"price": 21.49, "in_stock": True}),
        row("lamp", output={"price": 5}),
        row("chair", "failed", failure_reason="Checkout button not found"),
        row("desk", output={"price": 150}),
        row("sofa", output={"price": 400}),
    ]
    diff = diff_of(old, new)
    assert diff.as_json() == {
        "from": "2026-12-03",
        "to": "2026-12-04",
        "changed": [
            {"task": "kettle", "fields": [{"path": "$.price", "from": 19.99, "to": 21.49}]}
        ],
        "added": [{"task": "sofa", "status": "succeeded", "reason": None}],
        "removed": [{"task": "retired", "status": "succeeded", "reason": None}],
        "newly_failed": [
            {"task": "chair", "status": "failed", "reason": "Checkout button not found"}
        ],
        "recovered": [{"task": "desk", "status": "failed", "reason": "Page did not load"}],
        "unchanged": 1,
    }


def test_lists_follow_the_new_run_order_and_removed_the_old_one() -> None:
    old = [row(t) for t in ("r2", "a", "b", "r1")]
    new = [row(t) for t in ("z", "b", "a", "y")]
    diff = diff_of(old, new)
    assert [e.task for e in diff.added] == ["z", "y"]
    assert [e.task for e in diff.removed] == ["r2", "r1"]


def test_a_rejected_output_tells_its_validation_error() -> None:
    new = row("t", "failed", validation_error="$.price: 'n/a' is not a number")
    diff = diff_of([row("t")], [new])
    assert diff.newly_failed == (TaskEntry("t", "failed", "$.price: 'n/a' is not a number"),)


def test_ignore_patterns_turn_an_always_changing_field_into_unchanged() -> None:
    old = [row("t", output={"price": 1, "seen_at": "2026-12-03T02:00Z"})]
    new = [row("t", output={"price": 1, "seen_at": "2026-12-04T02:00Z"})]
    assert diff_of(old, new).has_differences
    quiet = diff_of(old, new, ignore=["$.seen_at"])
    assert not quiet.has_differences and quiet.unchanged == 1


def test_a_missing_output_key_differs_from_a_null_output() -> None:
    diff = diff_of([{"task": "t", "status": "succeeded"}], [row("t", output=None)])
    (changed,) = diff.changed
    assert (changed.fields[0].path, changed.fields[0].old, changed.fields[0].new) == (
        "$",
        MISSING,
        None,
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ([row("a"), row("a")], [], "task 'a' appears twice in 2026-12-03"),
        ([], [row("a"), row("a")], "task 'a' appears twice in 2026-12-04"),
        ([{"status": "succeeded"}], [], "a row of 2026-12-03 has no task id"),
        ([], [{"task": 7}], "a row of 2026-12-04 has no task id"),
    ],
)
def test_rows_that_cannot_be_compared_are_refused(
    old: list[dict[str, Any]], new: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(DiffInputError, match=message):
        diff_of(old, new)


def test_a_bad_ignore_pattern_is_refused_before_any_row_is_read() -> None:
    def never() -> Iterator[dict[str, Any]]:
        raise AssertionError("rows were read")
        yield {}

    with pytest.raises(ValueError, match="must start with \\$"):
        compute_diff(never(), never(), from_key="a", to_key="b", ignore=["price"])


def test_two_runs_of_100000_tasks_stream_holding_one_side() -> None:
    count = 100_000

    def rows(price: float) -> Iterator[dict[str, Any]]:
        # Every row carries bulk the diff must not keep (like run.json's fields would).
        for i in range(count):
            output = {"price": price if i % 1000 == 0 else 1.0, "name": f"item {i}"}
            yield row(f"t{i}", output=output, padding="x" * 200)

    tracemalloc.start()
    try:
        diff = diff_of(rows(1.0), rows(2.0))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(diff.changed) == count // 1000 and diff.unchanged == count - count // 1000
    # Measured: about 37 MiB when one side's kept parts (id, status, output) are held,
    # about 104 MiB when both sides' rows are (as lists would be).
    assert peak < 60 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
