"""Which task runs next: re-attachments first, then due retries, then new tasks.

One queue feeds a fixed pool of workers (never one coroutine per task), so a 100,000-task
batch costs a deque entry per task. A per-host limit is honoured by skipping, not blocking
on, tasks whose host is saturated.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from batchrun.spec import TaskSpec
from batchrun.state import AttemptRecord

# How far into the ready queue to look for a task whose host has room.
HOST_SCAN_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Job:
    task: TaskSpec
    # An attempt left open by an earlier `apply` (or by this one, after a throttle):
    # re-attach to its run, or look it up, before anything is submitted again.
    open_attempt: AttemptRecord | None = None
    delay_s: float = 0.0  # a retry wait still to run out before it starts
    expected_s: float | None = None  # how long its last run took in an earlier instance


class WorkQueue:
    def __init__(
        self, *, per_host: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._urgent: deque[Job] = deque()
        self._ready: deque[Job] = deque()
        self._waiting: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._per_host = per_host
        self._host_load: Counter[str] = Counter()
        self._in_progress = 0
        self._changed = anyio.Event()
        self._clock = clock

    def __len__(self) -> int:
        return len(self._urgent) + len(self._ready) + len(self._waiting)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def add(self, job: Job) -> None:
        (self._urgent if job.open_attempt is not None else self._ready).append(job)
        self._notify()

    def add_later(self, job: Job, delay_s: float) -> None:
        heapq.heappush(self._waiting, (self._clock() + max(0.0, delay_s), next(self._seq), job))
        self._notify()

    def drop_pending(self) -> None:
        """Forget every job not started yet (the batch halted); jobs in progress go on."""
        self._ready.clear()
        self._waiting.clear()
        self._notify()

    def done(self, job: Job) -> None:
        self._in_progress -= 1
        if self._per_host is not None and job.task.host:
            self._host_load[job.task.host] -= 1
        self._notify()

    async def take(self) -> Job | None:
        """The next job to run, waiting for one if need be; None once all work is done."""
        while True:
            self._release_due()
            job = self._pop_eligible()
            if job is not None:
                self._in_progress += 1
                if self._per_host is not None and job.task.host:
                    self._host_load[job.task.host] += 1
                return job
            if (
                not self._urgent
                and not self._ready
                and not self._waiting
                and not (self._in_progress)
            ):
                self._notify()  # wake the other workers so they finish too
                return None
            changed = self._changed
            wait_s = self._waiting[0][0] - self._clock() if self._waiting else None
            with anyio.move_on_after(wait_s):
                await changed.wait()

    def _release_due(self) -> None:
        now = self._clock()
        while self._waiting and self._waiting[0][0] <= now:
            _, _, job = heapq.heappop(self._waiting)
            (self._urgent if job.open_attempt is not None else self._ready).append(job)

    def _pop_eligible(self) -> Job | None:
        # Runs being re-attached already exist remotely: the per-host limit cannot hold them back.
        if self._urgent:
            return self._urgent.popleft()
        if not self._ready:
            return None
        if self._per_host is None:
            return self._ready.popleft()
        for index, job in enumerate(itertools.islice(self._ready, HOST_SCAN_LIMIT)):
            if not job.task.host or self._host_load[job.task.host] < self._per_host:
                del self._ready[index]
                return job
        return None

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()
