"""What the state holds, as plain immutable records for the rest of batchrun to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class TaskState(StrEnum):
    """A task's lifecycle. Only the state store moves a task from one state to another.

    pending -> submitting -> running -> succeeded
                   |            |----> retry_wait -> submitting ...
                   |            '----> failed | canceled
                   '-> (create refused) -> failed, or back to pending when nothing was created
    """

    PENDING = "pending"
    SUBMITTING = "submitting"  # an attempt's key is recorded; its run may or may not exist yet
    RUNNING = "running"  # the server accepted the run; we know its id
    RETRY_WAIT = "retry_wait"  # the last attempt failed; the next starts at next_attempt_at
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


FINAL_TASK_STATES = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELED})


class AttemptPhase(StrEnum):
    """Where a single create request stands. Recovery acts on exactly these distinctions."""

    PREPARED = "prepared"  # key written; the create request may or may not have gone out
    UNKNOWN = "unknown"  # the create request went out and its answer was lost
    ACCEPTED = "accepted"  # the server answered with a run id
    NOT_CREATED = "not_created"  # proven: no run exists for this attempt
    FINISHED = "finished"  # the run reached a final status


OPEN_PHASES = frozenset({AttemptPhase.PREPARED, AttemptPhase.UNKNOWN, AttemptPhase.ACCEPTED})


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: int
    spec_name: str
    run_key: str
    spec_path: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    id: int
    task_id: str
    number: int
    attempt_key: str
    phase: AttemptPhase
    kind: str
    request: dict[str, Any]  # the body as sent (secrets redacted), carrying the attempt key
    reserved_steps: int
    run_id: str | None
    run_type: str | None
    status: str | None
    step_count: int | None
    failure_reason: str | None
    prepared_at: datetime
    accepted_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    task_id: str
    position: int
    kind: str
    state: str
    attempts: int
    run_id: str | None
    last_status: str | None
    failure_reason: str | None
    output: Any
    output_verdict: str | None
    validation_error: str | None
    step_count: int | None  # steps of the last attempt
    total_steps: int  # over every attempt
    started_at: datetime | None
    finished_at: datetime | None
    app_url: str | None
    run_response: dict[str, Any] | None  # the final run response, secrets scrubbed
    timeline: list[Any] | None  # kept for failed tasks
    files: list[dict[str, Any]]  # exported files of the last attempt (paths relative to results)
    content_hash: str
    exported: bool


@dataclass(frozen=True, slots=True)
class Usage:
    """What a batch has spent so far, for its budget."""

    runs: int  # remote runs created or possibly created
    steps: int  # steps of finished runs plus steps reserved by runs in flight
