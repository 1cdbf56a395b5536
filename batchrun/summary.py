"""What a batch instance has come to: ONE model, computed from the state alone.

`apply`, `export`, `status` and the report all show this model, never figures kept in one
process's memory: so the numbers never change with who asks, and a re-run of `apply` that
had nothing to do changes none of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from batchrun.state import BatchRecord, StateStore

STATE_ORDER = ("pending", "submitting", "running", "retry_wait", "succeeded", "failed", "canceled")
ENDED_STATES = frozenset({"succeeded", "failed", "canceled"})
MAX_LISTED_FAILURES = 1000  # in summary.json; the tables hold every one
MAX_FILE_ERROR_EXAMPLES = 3


@dataclass(frozen=True)
class FailedTask:
    task_id: str
    end_status: str  # failed, terminated, timed_out, invalid_output, canceled
    reason: str
    run_id: str | None
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "end_status": self.end_status,
            "reason": self.reason,
            "run_id": self.run_id,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class BatchSummary:
    batch: str
    run_key: str
    total: int
    counts: dict[str, int]  # tasks by state (STATE_ORDER)
    runs: int  # runs created (or possibly created) for the spec's tasks
    retries: int  # runs beyond each task's first
    steps: int
    first_submitted_at: datetime | None
    last_finished_at: datetime | None
    active_time_s: float  # time `apply` spent working on the instance, every invocation
    queued_time_s: float  # time its runs waited in the server's queue (account limit)
    finished: bool  # every task ended
    stopped: dict[str, Any] | None  # why the last `apply` stopped early, if it did
    removed: int  # tasks the spec no longer has (left out of every figure)
    failed_tasks: list[FailedTask] = field(default_factory=list)
    failed_total: int = 0
    file_errors: int = 0  # files or artifacts of ended tasks that could not be saved
    file_error_examples: list[str] = field(default_factory=list)
    results_dir: Path | None = None
    state_path: Path | None = None
    # The spec file as the user named it, so printed commands can be pasted as they are.
    spec_path: Path | None = None
    # What the tasks run by the last `apply` were expected to take, end to end, from the
    # durations earlier instances saw (None without history); compare with wall_time_s.
    expected_wall_time_s: float | None = None
    # `apply --listen`: what its webhook receiver took in and relayed (None: not listening).
    webhooks: dict[str, int] | None = None

    @property
    def succeeded(self) -> int:
        return self.counts.get("succeeded", 0)

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)

    @property
    def canceled(self) -> int:
        return self.counts.get("canceled", 0)

    @property
    def pending(self) -> int:
        """Tasks not ended yet, whatever they wait for."""
        return self.total - self.succeeded - self.failed - self.canceled

    @property
    def wall_time_s(self) -> float:
        """From the instance's first submission to its last finish."""
        if self.first_submitted_at is None or self.last_finished_at is None:
            return 0.0
        return max(0.0, (self.last_finished_at - self.first_submitted_at).total_seconds())

    @property
    def stop_reason(self) -> str | None:
        return self.stopped.get("why") if self.stopped else None

    @property
    def interrupted(self) -> bool:
        return self.stop_reason == "interrupted"

    @property
    def budget_exhausted(self) -> bool:
        return self.stop_reason == "budget"

    @property
    def halted(self) -> dict[str, Any] | None:
        return self.stopped if self.stop_reason == "halted" else None

    def headline(self) -> str:
        counts = f"{self.succeeded} succeeded, {self.failed} failed, {self.canceled} canceled"
        if self.pending:
            counts += f", {self.pending} not finished"
        noun = "task" if self.total == 1 else "tasks"
        return f"Batch {self.batch} ({self.run_key}): {counts} of {self.total} {noun}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (paths as strings): the content of summary.json."""
        return {
            "batch": self.batch,
            "run_key": self.run_key,
            "total": self.total,
            "counts": dict(self.counts),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "canceled": self.canceled,
            "pending": self.pending,
            "removed": self.removed,
            "runs": self.runs,
            "retries": self.retries,
            "steps": self.steps,
            "first_submitted_at": _iso(self.first_submitted_at),
            "last_finished_at": _iso(self.last_finished_at),
            "wall_time_s": round(self.wall_time_s, 3),
            "expected_wall_time_s": (
                round(self.expected_wall_time_s, 3)
                if self.expected_wall_time_s is not None
                else None
            ),
            "active_time_s": round(self.active_time_s, 3),
            "queued_time_s": round(self.queued_time_s, 3),
            "webhooks": dict(self.webhooks) if self.webhooks is not None else None,
            "finished": self.finished,
            "stopped": self.stopped,
            "budget_exhausted": self.budget_exhausted,
            "interrupted": self.interrupted,
            "halted": self.halted,
            "file_errors": self.file_errors,
            "file_error_examples": list(self.file_error_examples),
            "failed_tasks": [task.as_dict() for task in self.failed_tasks],
            "failed_total": self.failed_total,
            "results_dir": str(self.results_dir) if self.results_dir is not None else None,
            "state_path": str(self.state_path) if self.state_path is not None else None,
            "spec_path": str(self.spec_path) if self.spec_path is not None else None,
        }


def summarise(
    store: StateStore,
    batch: BatchRecord,
    spec_task_ids: Collection[str] | None,
    *,
    results_dir: Path | None = None,
    spec_path: Path | None = None,
    state_path: Path | None = None,
) -> BatchSummary:
    """The instance's summary; `spec_task_ids` are the tasks the spec has now (None: every
    stored task that was not removed). Reads one light row per task, never all at once."""
    wanted = set(spec_task_ids) if spec_task_ids is not None else None
    counts: Counter[str] = Counter()
    runs = retries = steps = removed = file_errors = failed_total = 0
    queued = 0.0
    first: datetime | None = None
    last: datetime | None = None
    failed: list[FailedTask] = []
    examples: list[str] = []
    seen = 0
    for row in store.summary_rows(batch.id):
        if row["removed"] or (wanted is not None and row["task_id"] not in wanted):
            removed += 1
            continue
        seen += 1
        counts[row["state"]] += 1
        runs += row["attempts"]
        retries += max(0, row["attempts"] - 1)
        steps += row["total_steps"]
        queued += row["queued_s"]
        if row["started_at"] is not None and (first is None or row["started_at"] < first):
            first = row["started_at"]
        if row["finished_at"] is not None and (last is None or row["finished_at"] > last):
            last = row["finished_at"]
        if row["state"] in ("failed", "canceled"):
            failed_total += 1
            if len(failed) < MAX_LISTED_FAILURES:
                failed.append(
                    FailedTask(
                        row["task_id"],
                        row["end_status"] or row["state"],
                        row["failure_reason"] or row["end_status"] or row["state"],
                        row["run_id"],
                        row["attempts"],
                    )
                )
        for item in (*row["files"], *row["artifacts"]):
            if item.get("error"):
                file_errors += 1
                if len(examples) < MAX_FILE_ERROR_EXAMPLES:
                    name = item.get("filename") or item.get("path") or "(unnamed)"
                    examples.append(f"{row['task_id']}: {name}: {item['error']}")
    total = seen + (len(wanted) - seen if wanted is not None else 0)
    counts["pending"] += total - seen  # in the spec, never stored by an `apply` yet
    ordered = {state: counts.get(state, 0) for state in STATE_ORDER}
    ended = sum(ordered[state] for state in ENDED_STATES)
    return BatchSummary(
        batch=batch.spec_name,
        run_key=batch.run_key,
        total=total,
        counts=ordered,
        runs=runs,
        retries=retries,
        steps=steps,
        first_submitted_at=first,
        last_finished_at=last,
        active_time_s=batch.active_s,
        queued_time_s=queued,
        finished=ended == total,
        stopped=batch.stopped,
        removed=removed,
        failed_tasks=failed,
        failed_total=failed_total,
        file_errors=file_errors,
        file_error_examples=examples,
        results_dir=results_dir,
        state_path=state_path,
        spec_path=spec_path,
    )


def format_duration(seconds: float) -> str:
    """A short human duration: `850ms`, `12.4s`, `4m 12s`, `2h 05m`."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
