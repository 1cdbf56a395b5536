"""Finding what a user named on the command line: a task, its attempts, a set of tasks.

Every miss is a `UsageError` (exit 2) that says what does exist, so a typo costs one look.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence

from batchrun.errors import UsageError
from batchrun.spec import BatchSpec
from batchrun.state import AttemptRecord, BatchRecord, StateStore, TaskRecord

_NEAR_MATCHES = 5


def find_task(
    store: StateStore, batch: BatchRecord, spec: BatchSpec, task_id: str
) -> TaskRecord | None:
    """The stored task `task_id`; None when the spec has it but no `apply` has stored it yet.

    A task the state holds but the current spec dropped is still found: its runs happened.
    """
    record = store.task_record(batch.id, task_id)
    if record is not None:
        return record
    if any(task.id == task_id for task in spec.tasks):
        return None
    known = [task.id for task in spec.tasks]
    known += [r.task_id for r in store.task_records(batch.id)]
    raise UsageError(f"no task {task_id!r} in batch {spec.name!r}{_suggestions(task_id, known)}")


def select_tasks(spec: BatchSpec, only: str | None) -> list[str]:
    """The ids of the spec's tasks, in spec order, that match the glob `only`."""
    ids = [task.id for task in spec.tasks]
    if only is None:
        return ids
    wanted = [task_id for task_id in ids if fnmatch.fnmatchcase(task_id, only)]
    if not wanted:
        raise UsageError(
            f"--only {only!r} matches no task of batch {spec.name!r}{_suggestions(only, ids)}"
        )
    return wanted


def last_run_attempt(attempts: Sequence[AttemptRecord]) -> AttemptRecord | None:
    """The latest attempt that created a run (attempts refused before creation have none)."""
    return next((a for a in reversed(attempts) if a.run_id is not None), None)


def pick_attempt(
    task_id: str, attempts: Sequence[AttemptRecord], number: int | None
) -> AttemptRecord | None:
    """Attempt `number`, or by default the last one with a run (else the last one at all)."""
    if number is None:
        return last_run_attempt(attempts) or (attempts[-1] if attempts else None)
    for attempt in attempts:
        if attempt.number == number:
            return attempt
    if not attempts:
        raise UsageError(f"task {task_id!r} has no attempts yet, so no attempt {number}")
    numbers = ", ".join(str(a.number) for a in attempts)
    raise UsageError(f"task {task_id!r} has no attempt {number} (its attempts: {numbers})")


def _suggestions(name: str, candidates: Iterable[str]) -> str:
    unique = list(dict.fromkeys(candidates))
    close = difflib.get_close_matches(name, unique, n=_NEAR_MATCHES, cutoff=0.5)
    if close:
        return "; did you mean: " + ", ".join(close) + "?"
    if not unique:
        return " (it has no tasks)"
    return ""
