"""`batchrun diff` as text: a counts line, then one line per difference.

    2026-12-03 → 2026-12-04: 1 changed, 1 newly failed, 10 unchanged
    changed kettle-01
      $.price: 19.99 → 21.49
    newly failed chair-03 (failed: Checkout button not found)

Every line but a field line starts with what it is (`changed`, `added`, `removed`,
`newly failed`, `recovered`), so `grep '^newly failed'` works on a nightly log. Long values
are cut and long lists capped, so a site redesign that changes every task stays readable;
`--json` has everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from batchrun.diffing.core import MISSING, BatchDiff, TaskEntry

DEFAULT_LIMIT = 20  # tasks per category
FIELD_LIMIT = 10  # fields per changed task
VALUE_WIDTH = 60


def render_text(diff: BatchDiff, *, limit: int = DEFAULT_LIMIT) -> list[str]:
    lines = [f"{diff.from_key} → {diff.to_key}: {_counts(diff)}"]
    for changed in diff.changed[:limit]:
        lines.append(f"changed {changed.task}")
        for field in changed.fields[:FIELD_LIMIT]:
            lines.append(f"  {field.path}: {show_value(field.old)} → {show_value(field.new)}")
        if (more := len(changed.fields) - FIELD_LIMIT) > 0:
            lines.append(f"  ... and {more} more {_plural(more, 'field')}")
    lines.extend(_more(len(diff.changed), limit, "changed", "task"))
    lines.extend(_entries("added", diff.added, limit, _status_note))
    lines.extend(_entries("removed", diff.removed, limit, lambda _: ""))
    lines.extend(_entries("newly failed", diff.newly_failed, limit, _status_note))
    lines.extend(_entries("recovered", diff.recovered, limit, _was_note))
    return lines


def show_value(value: Any) -> str:
    """A value as JSON on one line ("1" and 1 look different), cut to VALUE_WIDTH."""
    if value is MISSING:
        return "(missing)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _counts(diff: BatchDiff) -> str:
    if not diff.has_differences:
        return f"no differences ({diff.unchanged} unchanged)"
    counts = [
        (len(diff.changed), "changed"),
        (len(diff.added), "added"),
        (len(diff.removed), "removed"),
        (len(diff.newly_failed), "newly failed"),
        (len(diff.recovered), "recovered"),
    ]
    parts = [f"{count} {label}" for count, label in counts if count]
    return ", ".join([*parts, f"{diff.unchanged} unchanged"])


def _entries(
    label: str, entries: Sequence[TaskEntry], limit: int, note: Callable[[TaskEntry], str]
) -> list[str]:
    lines = [f"{label} {entry.task}{note(entry)}" for entry in entries[:limit]]
    return lines + _more(len(entries), limit, label, "task")


def _more(total: int, limit: int, label: str, noun: str) -> list[str]:
    more = total - limit
    return [f"... and {more} more {label} {_plural(more, noun)}"] if more > 0 else []


def _status_note(entry: TaskEntry) -> str:
    # A task added in a successful state needs no note; otherwise say how it stands.
    if entry.status == "succeeded":
        return ""
    return f" ({_status_and_reason(entry)})"


def _was_note(entry: TaskEntry) -> str:
    return f" (was {_status_and_reason(entry)})"


def _status_and_reason(entry: TaskEntry) -> str:
    status = entry.status or "no status"
    return f"{status}: {_one_line(entry.reason)}" if entry.reason else status


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= VALUE_WIDTH else flat[: VALUE_WIDTH - 1] + "…"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"
