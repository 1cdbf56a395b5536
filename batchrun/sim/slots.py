"""Account concurrency: at most N runs started and not yet done, the rest wait queued.

Skyvern Cloud plans cap how many runs of an account execute at once; the others stay
`queued` and start first in, first out as slots free up. Run state is derived from the clock
on every read (see `lifecycle`), so no run is started by an event: each run's start is
decided when it is created, from a schedule of when each of the N slots is next free (a
min-heap). A run's natural start (its rule's created and queued phases) is when it becomes
eligible; it starts at the later of that and the earliest free slot, and holds the slot until
its last attempt ends or it is canceled. The time it waited shifts its start and everything
after it. A cancel that frees a slot early, a store loaded on start, or a new limit
recomputes the start of every run that has not started yet, in creation order.
"""

from __future__ import annotations

import heapq

from batchrun.sim.lifecycle import Phases, Run

_PRUNE_FLOOR = 512


class SlotSchedule:
    """When each run of a concurrency-limited account starts; `limit` None means no limit."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._free: list[float] = []  # heap: the clock time at which each slot is next free
        self._tracked: list[Run] = []  # creation order: runs that hold or will hold a slot
        self._pruned_at = 0

    def admit(self, run: Run) -> None:
        """Gives a new run its start: the earliest free slot at or after it is eligible."""
        if self.limit is None:
            return
        if not self._free:
            self._free = [run.created_mono] * self.limit
        start = max(_eligible(run), heapq.heappop(self._free))
        _set_wait(run, start - _eligible(run))
        heapq.heappush(self._free, start + _length(run))
        self._tracked.append(run)
        if len(self._tracked) > 2 * self._pruned_at + _PRUNE_FLOOR:
            # A run that has ended never holds a slot again: forget it, so the list stays
            # as long as the runs in flight, not the whole batch.
            self._tracked = [r for r in self._tracked if _end(r) > run.created_mono]
            self._pruned_at = len(self._tracked)

    def reschedule(self, runs: list[Run] | None, now: float) -> list[Run]:
        """Recomputes the start of every run not started by `now`; returns those that moved.

        `runs` (creation order) replaces the tracked runs, as when a store is loaded.
        """
        if runs is not None:
            self._tracked = list(runs)
        if self.limit is None:
            moved = [r for r in self._tracked if r.slot_wait and _start(r) > now]
            for run in moved:
                _set_wait(run, 0.0)
            self._tracked, self._free = [], []
            return moved
        holding: list[Run] = []
        waiting: list[Run] = []
        kept: list[Run] = []
        for run in self._tracked:
            if _start(run) > now:
                if run.cancel_offset is None:  # canceled while queued: never takes a slot
                    waiting.append(run)
                    kept.append(run)
            elif _end(run) > now:
                holding.append(run)
                kept.append(run)
        ends = sorted(_end(run) for run in holding)
        # More holders than slots (the limit was lowered): a slot frees only as the surplus ends.
        free = ends[-self.limit :] if len(ends) >= self.limit else ends
        free += [now] * (self.limit - len(free))
        heapq.heapify(free)
        moved = []
        for run in waiting:
            start = max(_eligible(run), heapq.heappop(free))
            if start - _eligible(run) != run.slot_wait:
                _set_wait(run, start - _eligible(run))
                moved.append(run)
            heapq.heappush(free, start + _length(run))
        self._free = free
        self._tracked = kept
        return moved


def _eligible(run: Run) -> float:
    """When the run would start with no limit: its own created and queued phases done."""
    return run.created_mono + run.phases.started - run.slot_wait


def _start(run: Run) -> float:
    return run.created_mono + run.phases.started


def _length(run: Run) -> float:
    """How long a run holds its slot if nobody cancels it: start to the end of its attempt."""
    return run.phases.finish - run.phases.started


def _end(run: Run) -> float:
    end = run.phases.finish
    if run.cancel_offset is not None:
        end = max(run.phases.started, min(end, run.cancel_offset))
    return run.created_mono + end


def _set_wait(run: Run, wait: float) -> None:
    run.slot_wait = wait
    run.phases = Phases.of(run)
