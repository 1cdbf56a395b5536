"""What the state holds, as plain immutable records for the rest of batchrun to read."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """One batch instance: one run key of one spec."""

    id: int
    spec_name: str
    run_key: str
    spec_path: str | None
    created_at: datetime
    finished_at: datetime | None
    updated_at: datetime | None = None
    active_s: float = 0.0  # time `apply` spent working on it, over every invocation
    # Why the last `apply` stopped before the end: {"why": "interrupted" | "budget" |
    # "halted" | "api_unavailable", "message": ...}; None when it ran to its end.
    stopped: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StoredTask:
    """What the decision about a task needs from the state (see `batchrun.decide`)."""

    task_id: str
    state: str
    content_hash: str
    attempts: int
    end_status: str | None
    removed: bool = False
    exported: bool = True  # its results are written (an ended task may still need them)
    position: int = -1  # in the spec that last synced it
    has_request: bool = True  # its attempt-1 request is stored (older states lack some)


@dataclass(frozen=True, slots=True)
class TaskEnd:
    """How an attempt's end moves its task, in the state's own terms.

    `state` is the task's next state: succeeded, failed, canceled, or retry_wait (then
    `next_attempt_at` says when). `end_status` is set for a final state only.
    """

    state: TaskState
    end_status: str | None = None
    failure_reason: str | None = None
    output: Any = None
    output_verdict: str | None = None
    validation_error: str | None = None
    next_attempt_at: datetime | None = None


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
    files: list[dict[str, Any]]  # downloaded files of the last run (paths relative to results)
    content_hash: str
    exported: bool
    end_status: str | None = None  # succeeded, failed, terminated, timed_out, ... once ended
    removed: bool = False  # no longer in the spec: left out of the results
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # screenshots, recordings...
    request: dict[str, Any] | None = None  # attempt 1's request (redacted), for `plan`
    queued_s: float = 0.0  # time its runs spent queued on the server (account limit)


@dataclass(frozen=True, slots=True)
class Usage:
    """What a batch has spent so far, for its budget."""

    runs: int  # remote runs created or possibly created
    steps: int  # steps of finished runs plus steps reserved by runs in flight
