"""Comparing two batch instances of a spec, task by task: what tonight's run changed.

The rows are `outputs.jsonl` objects (`task`, `status`, `output`, `failure_reason`, ...).
The old side is held in a dict by task id; the new side is streamed, so two runs of
100,000 tasks cost one run's rows in memory, not two.

A task in both runs is `newly_failed` when it succeeded before and not now, `recovered` in
the opposite case, and otherwise compared output field by output field (dicts by key, lists
by index) into `changed` or `unchanged`. Numbers compare by value (1 == 1.0) but a boolean
is never equal to a number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from batchrun.diffing.paths import IgnoreRules, Key, format_path

SUCCEEDED = "succeeded"


class _Missing:
    """Where a field does not exist at all, as opposed to holding null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "(missing)"


MISSING: Final = _Missing()


class DiffInputError(ValueError):
    """The rows cannot be compared: a row without a task id, or a task id twice."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    old: Any  # MISSING when the field did not exist before
    new: Any  # MISSING when it no longer exists

    def as_json(self) -> dict[str, Any]:
        # An absent "from"/"to" key means the field is missing on that side; null is null.
        document: dict[str, Any] = {"path": self.path}
        if self.old is not MISSING:
            document["from"] = self.old
        if self.new is not MISSING:
            document["to"] = self.new
        return document


@dataclass(frozen=True, slots=True)
class ChangedTask:
    task: str
    fields: tuple[FieldChange, ...]

    def as_json(self) -> dict[str, Any]:
        return {"task": self.task, "fields": [f.as_json() for f in self.fields]}


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """A task in one of the lists: its status and failure reason on the side that tells.

    That is the new run for `added` and `newly_failed`, the old run for `removed` and
    `recovered` (what it was before it recovered).
    """

    task: str
    status: str | None
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {"task": self.task, "status": self.status, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class BatchDiff:
    from_key: str
    to_key: str
    changed: tuple[ChangedTask, ...]
    added: tuple[TaskEntry, ...]
    removed: tuple[TaskEntry, ...]
    newly_failed: tuple[TaskEntry, ...]
    recovered: tuple[TaskEntry, ...]
    unchanged: int

    @property
    def has_differences(self) -> bool:
        return any((self.changed, self.added, self.removed, self.newly_failed, self.recovered))

    def as_json(self) -> dict[str, Any]:
        """The `batchrun diff --json` document, as plain JSON-ready values."""
        return {
            "from": self.from_key,
            "to": self.to_key,
            "changed": [c.as_json() for c in self.changed],
            "added": [e.as_json() for e in self.added],
            "removed": [e.as_json() for e in self.removed],
            "newly_failed": [e.as_json() for e in self.newly_failed],
            "recovered": [e.as_json() for e in self.recovered],
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True, slots=True)
class _Kept:
    """What the comparison needs of an old row: the rest of it is dropped at once."""

    status: str | None
    output: Any
    reason: str | None


def compute_diff(
    old_rows: Iterable[Mapping[str, Any]],
    new_rows: Iterable[Mapping[str, Any]],
    *,
    from_key: str,
    to_key: str,
    ignore: Sequence[str] = (),
) -> BatchDiff:
    """Compare two instances; raises ValueError for a bad ignore pattern, DiffInputError
    for rows that cannot be compared."""
    rules = IgnoreRules(ignore)
    old: dict[str, _Kept] = {}
    for row in old_rows:
        task = _task_id(row, from_key)
        if task in old:
            raise DiffInputError(f"task {task!r} appears twice in {from_key}")
        old[task] = _Kept(row.get("status"), row.get("output", MISSING), _reason(row))

    changed: list[ChangedTask] = []
    added: list[TaskEntry] = []
    newly_failed: list[TaskEntry] = []
    recovered: list[TaskEntry] = []
    unchanged = 0
    seen: set[str] = set()  # ids only: a repeated id in the new run would pass as "added"
    for row in new_rows:
        task = _task_id(row, to_key)
        if task in seen:
            raise DiffInputError(f"task {task!r} appears twice in {to_key}")
        seen.add(task)
        status = row.get("status")
        before = old.pop(task, None)
        if before is None:
            added.append(TaskEntry(task, status, _reason(row)))
        elif before.status == SUCCEEDED and status != SUCCEEDED:
            newly_failed.append(TaskEntry(task, status, _reason(row)))
        elif before.status != SUCCEEDED and status == SUCCEEDED:
            recovered.append(TaskEntry(task, before.status, before.reason))
        elif fields := output_changes(before.output, row.get("output", MISSING), rules):
            changed.append(ChangedTask(task, tuple(fields)))
        else:
            unchanged += 1
    removed = [TaskEntry(task, kept.status, kept.reason) for task, kept in old.items()]
    return BatchDiff(
        from_key=from_key,
        to_key=to_key,
        changed=tuple(changed),
        added=tuple(added),
        removed=tuple(removed),
        newly_failed=tuple(newly_failed),
        recovered=tuple(recovered),
        unchanged=unchanged,
    )


def output_changes(old: Any, new: Any, rules: IgnoreRules | None = None) -> list[FieldChange]:
    """The changed fields between two outputs (MISSING for an output that is not there)."""
    changes: list[FieldChange] = []
    _compare(old, new, (), rules or IgnoreRules(), changes)
    return changes


def _compare(
    old: Any, new: Any, path: tuple[Key, ...], rules: IgnoreRules, out: list[FieldChange]
) -> None:
    if rules and rules.ignores(path):
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key, value in old.items():
            child = (*path, key)
            if key in new:
                _compare(value, new[key], child, rules, out)
            else:
                _report(value, MISSING, child, rules, out)
        for key, value in new.items():
            if key not in old:
                _report(MISSING, value, (*path, key), rules, out)
    elif isinstance(old, list | tuple) and isinstance(new, list | tuple):
        for index in range(max(len(old), len(new))):
            child = (*path, index)
            if index >= len(new):
                _report(old[index], MISSING, child, rules, out)
            elif index >= len(old):
                _report(MISSING, new[index], child, rules, out)
            else:
                _compare(old[index], new[index], child, rules, out)
    elif not _same_leaf(old, new):
        _report(old, new, path, rules, out)


def _report(
    old: Any, new: Any, path: tuple[Key, ...], rules: IgnoreRules, out: list[FieldChange]
) -> None:
    if rules and rules.ignores(path):
        return
    old_shown = old if old is MISSING else rules.prune(old, path)
    new_shown = new if new is MISSING else rules.prune(new, path)
    out.append(FieldChange(format_path(path), old_shown, new_shown))


def _same_leaf(old: Any, new: Any) -> bool:
    # Python says True == 1 and nan != nan; a diff of extracted data must say the opposite.
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old):
        return math.isnan(new)
    return bool(old == new)


def _task_id(row: Mapping[str, Any], key: str) -> str:
    task = row.get("task")
    if not isinstance(task, str) or not task:
        raise DiffInputError(f"a row of {key} has no task id: {_preview(row)}")
    return task


def _reason(row: Mapping[str, Any]) -> str | None:
    # An output rejected by the extraction schema fails with a validation error, not a
    # failure reason from the agent: either tells the user why.
    reason = row.get("failure_reason") or row.get("validation_error")
    return reason if isinstance(reason, str) else None


def _preview(row: Mapping[str, Any]) -> str:
    text = repr(dict(row))
    return text if len(text) <= 80 else text[:79] + "…"
