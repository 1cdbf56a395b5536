"""Longest first, from history: what earlier instances of a spec say each task will take.

The wall time of a batch is bounded by its longest tasks: one started last keeps the batch
running long after the others ended, with every other slot idle. When an earlier instance
of the same spec (same state file) ran a task with the same id, the duration of that run is
its expected duration; tasks are started longest-expected first (LPT), which keeps the
tail short. A task no instance ran yet is expected to take the median of those that did.
The same durations give an expected wall time: the schedule over `concurrency` slots.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Iterable, Sequence

from batchrun.scheduler.work_queue import Job
from batchrun.state import StateStore

# The instances read, newest first: enough to cover tasks an instance left out (--only),
# few enough that a state with hundreds of instances is not read whole.
INSTANCES_READ = 5
# A canceled task's time says nothing of how long it takes.
ENDED_BY_RUNS = frozenset({"succeeded", "failed"})


def expected_durations(
    store: StateStore, spec_name: str, task_ids: Iterable[str]
) -> dict[str, float]:
    """Each task's duration in the latest instance that ran it to its end: first submit to
    the finish of its last run: the time it held a slot, its runs' stays in the server's
    queue included (a run is queued briefly even on an idle account). Tasks no instance
    ran are left out."""
    wanted = set(task_ids)
    found: dict[str, float] = {}
    for batch in reversed(store.list_batches(spec_name)[-INSTANCES_READ:]):
        for row in store.summary_rows(batch.id):
            task_id = row["task_id"]
            if task_id not in wanted or task_id in found:
                continue
            started, finished = row["started_at"], row["finished_at"]
            if started is None or finished is None or row["state"] not in ENDED_BY_RUNS:
                continue
            found[task_id] = max(0.0, (finished - started).total_seconds())
        if len(found) == len(wanted):
            break
    return found


def with_estimates(task_ids: Sequence[str], known: dict[str, float]) -> dict[str, float]:
    """Every task's expected duration: its own if known, else the median of the known."""
    if not known:
        return {}
    typical = statistics.median(known.values())
    return {task_id: known.get(task_id, typical) for task_id in task_ids}


def longest_first(jobs: list[Job], expected: dict[str, float]) -> list[Job]:
    """`jobs` by expected duration, longest first; ties (and all, without history) keep
    their order."""
    if not expected:
        return list(jobs)
    return sorted(jobs, key=lambda job: -expected.get(job.task.id, 0.0))


def schedule_wall_s(durations: Iterable[float], slots: int) -> float:
    """The wall time of starting `durations` in this order, each as soon as one of `slots`
    is free, with no overhead at all: the ideal of that order."""
    free = [0.0] * max(1, slots)
    end = 0.0
    for duration in durations:
        start = heapq.heappop(free)
        end = max(end, start + duration)
        heapq.heappush(free, start + duration)
    return end
