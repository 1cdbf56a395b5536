"""What `batchrun diff` prints for a person reading last night's cron mail."""

from __future__ import annotations

from typing import Any

from batchrun.diffing import MISSING, BatchDiff, ChangedTask, FieldChange, TaskEntry, render_text


def make_diff(**parts: Any) -> BatchDiff:
    fields: dict[str, Any] = {
        "from_key": "2026-12-03",
        "to_key": "2026-12-04",
        "changed": (),
        "added": (),
        "removed": (),
        "newly_failed": (),
        "recovered": (),
        "unchanged": 0,
    }
    return BatchDiff(**{**fields, **parts})


def test_nothing_differs() -> None:
    assert render_text(make_diff(unchanged=12)) == [
        "2026-12-03 → 2026-12-04: no differences (12 unchanged)"
    ]


def test_one_of_everything() -> None:
    diff = make_diff(
        changed=(
            ChangedTask(
                "kettle",
                (
                    FieldChange("$.price", 19.99, 21.49),
                    FieldChange("$.name", "Kettle", "Kettle 2"),
                    FieldChange("$.coupon", MISSING, None),
                ),
            ),
        ),
        added=(TaskEntry("sofa", "succeeded", None), TaskEntry("bed", "pending", None)),
        removed=(TaskEntry("retired", "succeeded", None),),
        newly_failed=(TaskEntry("chair", "failed", "Checkout button\n not found"),),
        recovered=(TaskEntry("desk", "failed", "Page did not load"),),
        unchanged=10,
    )
    assert render_text(diff) == [
        "2026-12-03 → 2026-12-04: 1 changed, 2 added, 1 removed, 1 newly failed, "
        "1 recovered, 10 unchanged",
        "changed kettle",
        "  $.price: 19.99 → 21.49",
        '  $.name: "Kettle" → "Kettle 2"',
        "  $.coupon: (missing) → null",
        "added sofa",
        "added bed (pending)",
        "removed retired",
        "newly failed chair (failed: Checkout button not found)",
        "recovered desk (was failed: Page did not load)",
    ]


def test_counts_name_only_what_happened() -> None:
    diff = make_diff(removed=(TaskEntry("gone", "succeeded", None),), unchanged=3)
    assert render_text(diff)[0] == "2026-12-03 → 2026-12-04: 1 removed, 3 unchanged"


def test_long_values_are_cut_to_one_short_line() -> None:
    long_text = "a" * 500
    diff = make_diff(changed=(ChangedTask("t", (FieldChange("$.text", long_text, {"x": 1}),)),))
    line = render_text(diff)[2]
    assert line == f'  $.text: "{"a" * 58}… → {{"x": 1}}'


def test_a_site_redesign_that_breaks_every_task_stays_readable() -> None:
    failed = tuple(TaskEntry(f"t{i}", "failed", "Page did not load") for i in range(1000))
    lines = render_text(make_diff(newly_failed=failed), limit=20)
    assert len(lines) == 1 + 20 + 1
    assert lines[20] == "newly failed t19 (failed: Page did not load)"
    assert lines[-1] == "... and 980 more newly failed tasks"


def test_a_task_with_many_changed_fields_is_capped_too() -> None:
    fields = tuple(FieldChange(f"$.items[{i}]", i, i + 1) for i in range(25))
    changed = tuple(ChangedTask(f"t{i}", fields) for i in range(3))
    lines = render_text(make_diff(changed=changed), limit=2)
    assert lines.count("  ... and 15 more fields") == 2
    assert lines[-1] == "... and 1 more changed task"
    assert sum(line.startswith("changed ") for line in lines) == 2
