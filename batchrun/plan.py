"""What `apply` would do with each task, given what the state remembers of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from batchrun.spec import TaskSpec


class PlanAction(StrEnum):
    CREATE = "create"  # never run (or not yet submitted)
    SKIP = "skip"  # succeeded with this very request
    CHANGED = "changed"  # succeeded, but the request has changed since
    RESUME = "resume"  # a run is in flight: re-attach, never submit again
    RETRY = "retry"  # failed, canceled or waiting for its next attempt


@dataclass(frozen=True, slots=True)
class StoredTaskView:
    """What the state knows of one task (provided by `batchrun.state`)."""

    task_id: str
    content_hash: str
    state: str  # pending, submitting, running, retry_wait, succeeded, failed, canceled
    attempts: int
    run_id: str | None
    last_status: str | None


@dataclass(frozen=True, slots=True)
class PlannedTask:
    task: TaskSpec
    action: PlanAction
    stored: StoredTaskView | None


_BY_STATE = {
    "pending": PlanAction.CREATE,
    "submitting": PlanAction.RESUME,
    "running": PlanAction.RESUME,
    "retry_wait": PlanAction.RETRY,
    "failed": PlanAction.RETRY,
    "canceled": PlanAction.RETRY,
}


def plan_tasks(
    tasks: Sequence[TaskSpec], stored: Mapping[str, StoredTaskView]
) -> list[PlannedTask]:
    """One PlannedTask per spec task, in spec order."""
    return [
        PlannedTask(task, _action(task, stored.get(task.id)), stored.get(task.id)) for task in tasks
    ]


def _action(task: TaskSpec, stored: StoredTaskView | None) -> PlanAction:
    if stored is None:
        return PlanAction.CREATE
    if stored.state == "succeeded":
        return PlanAction.SKIP if stored.content_hash == task.content_hash else PlanAction.CHANGED
    try:
        return _BY_STATE[stored.state]
    except KeyError:
        raise ValueError(f"task {task.id!r} has an unknown stored state {stored.state!r}") from None


def summary_counts(planned: Sequence[PlannedTask]) -> dict[PlanAction, int]:
    counts = dict.fromkeys(PlanAction, 0)
    for item in planned:
        counts[item.action] += 1
    return counts


def summary_line(counts: Mapping[PlanAction, int]) -> str:
    """`7 to create, 2 unchanged, 1 changed, 0 to resume, 0 to retry`."""
    return (
        f"{counts[PlanAction.CREATE]} to create, {counts[PlanAction.SKIP]} unchanged, "
        f"{counts[PlanAction.CHANGED]} changed, {counts[PlanAction.RESUME]} to resume, "
        f"{counts[PlanAction.RETRY]} to retry"
    )
