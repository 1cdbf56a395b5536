"""What happens during a batch, as a stream of events.

The scheduler emits `BatchEvent`s to an `EventSink`; the terminal progress display, the
plain and JSON log writers and the event log in the state all consume the same stream, so
what an operator sees, what cron mails and what the state records never disagree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

Level = Literal["debug", "info", "warning", "error"]


class EventKind(StrEnum):
    BATCH_LOCATED = "batch_located"  # data: state_path, run_key (the first line of apply)
    BATCH_STARTED = "batch_started"  # data: total, to_run, skipped, concurrency, run_key
    TASK_SUBMITTED = "task_submitted"  # a run was created (run_id known)
    RUN_STATUS = "run_status"  # a run's remote status changed (status)
    RUN_RECONCILED = "run_reconciled"  # an ambiguous submit was found (or not) by lookup
    RUN_REATTACHED = "run_reattached"  # resume picked up a run already accepted by the server
    RETRY_SCHEDULED = "retry_scheduled"  # data: delay_s, reason
    TASK_SUCCEEDED = "task_succeeded"
    TASK_FAILED = "task_failed"  # final: message is the failure reason
    TASK_CANCELED = "task_canceled"
    FILES_EXPORTED = "files_exported"
    THROTTLED = "throttled"  # 429/503: the whole batch slows down; data: limit, retry_after
    BUDGET_EXHAUSTED = "budget_exhausted"
    HALTED = "halted"  # the halt policy tripped; data: reason, failures, ended, mode
    WARNING = "warning"
    BATCH_FINISHED = "batch_finished"  # data: the summary as a dict


@dataclass(frozen=True, slots=True)
class BatchEvent:
    kind: EventKind
    batch: str
    message: str = ""
    level: Level = "info"
    task: str | None = None
    attempt: int | None = None
    run_id: str | None = None
    status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "level": self.level,
            "kind": str(self.kind),
            "batch": self.batch,
            "task": self.task,
            "attempt": self.attempt,
            "run_id": self.run_id,
            "status": self.status,
            "message": self.message,
            "data": self.data,
        }


class EventSink(Protocol):
    def emit(self, event: BatchEvent) -> None: ...
