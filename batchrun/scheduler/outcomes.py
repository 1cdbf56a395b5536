"""What a finished attempt means for its task, in the scheduler's terms, and how each
outcome is written to the state (`TaskEnd`, the state's neutral transition)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchrun.state import TaskEnd, TaskState


@dataclass(frozen=True, slots=True)
class Succeeded:
    output: Any
    output_verdict: str | None
    validation_error: str | None


@dataclass(frozen=True, slots=True)
class RetryLater:
    next_attempt_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    end_status: str  # failed, terminated, timed_out or invalid_output


@dataclass(frozen=True, slots=True)
class Canceled:
    reason: str


TaskOutcome = Succeeded | RetryLater | Failed | Canceled


def task_end(outcome: TaskOutcome) -> TaskEnd:
    match outcome:
        case Succeeded(output, verdict, error):
            return TaskEnd(
                TaskState.SUCCEEDED,
                end_status="succeeded",
                output=output,
                output_verdict=verdict,
                validation_error=error,
            )
        case RetryLater(next_at, reason):
            return TaskEnd(TaskState.RETRY_WAIT, failure_reason=reason, next_attempt_at=next_at)
        case Failed(reason, end_status):
            return TaskEnd(TaskState.FAILED, end_status=end_status, failure_reason=reason)
        case Canceled(reason):
            return TaskEnd(TaskState.CANCELED, end_status="canceled", failure_reason=reason)
    raise TypeError(f"not an outcome: {outcome!r}")
