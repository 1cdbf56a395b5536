"""Where a batch stands, rebuilt from its event stream: the numbers behind the live display."""

from __future__ import annotations

from dataclasses import dataclass

from batchrun.events import BatchEvent, EventKind


@dataclass
class RunInFlight:
    task: str
    run_id: str | None
    attempt: int | None
    status: str
    since: float  # when this attempt was submitted (or re-attached), epoch seconds


class BatchTally:
    def __init__(self) -> None:
        self.batch = ""
        self.started_at: float | None = None
        self.to_run: int | None = None
        self.skipped = 0
        self.succeeded = 0
        self.failed = 0
        self.canceled = 0
        self.retries = 0
        self.in_flight: dict[str, RunInFlight] = {}

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.canceled

    @property
    def waiting(self) -> int | None:
        """Tasks not yet submitted or waiting to retry; None before the batch announced its size."""
        if self.to_run is None:
            return None
        return max(0, self.to_run - self.finished - len(self.in_flight))

    def rate_per_minute(self, now: float) -> float | None:
        """Tasks finished per minute since the batch started; None until one has finished."""
        if self.started_at is None or not self.finished or now <= self.started_at:
            return None
        return self.finished * 60 / (now - self.started_at)

    def eta_seconds(self, now: float) -> float | None:
        rate = self.rate_per_minute(now)
        if rate is None or (not self.waiting and not self.in_flight):
            return None  # not known yet, or nothing left
        return ((self.waiting or 0) + len(self.in_flight)) * 60 / rate

    def apply(self, event: BatchEvent) -> None:
        self.batch = self.batch or event.batch
        if self.started_at is None or event.kind is EventKind.BATCH_STARTED:
            self.started_at = event.ts
        kind, task = event.kind, event.task
        if kind is EventKind.BATCH_STARTED:
            to_run = event.data.get("to_run", event.data.get("total"))
            self.to_run = int(to_run) if to_run is not None else None
            self.skipped = int(event.data.get("skipped", 0))
        elif task is None:
            return
        elif kind in (EventKind.TASK_SUBMITTED, EventKind.RUN_REATTACHED):
            self.in_flight[task] = RunInFlight(
                task, event.run_id, event.attempt, event.status or "created", event.ts
            )
        elif kind is EventKind.RUN_STATUS and task in self.in_flight:
            run = self.in_flight[task]
            run.status = event.status or run.status
            run.run_id = event.run_id or run.run_id
        elif kind is EventKind.RETRY_SCHEDULED:
            self.retries += 1
            self.in_flight.pop(task, None)
        elif kind is EventKind.TASK_SUCCEEDED:
            self.succeeded += 1
            self.in_flight.pop(task, None)
        elif kind is EventKind.TASK_FAILED:
            self.failed += 1
            self.in_flight.pop(task, None)
        elif kind is EventKind.TASK_CANCELED:
            self.canceled += 1
            self.in_flight.pop(task, None)
