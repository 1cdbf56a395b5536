"""What a batch came to: the end-of-run summary shown on the console and saved as summary.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FailedTask:
    task_id: str
    reason: str
    run_id: str | None
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "reason": self.reason,
            "run_id": self.run_id,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class BatchSummary:
    batch: str
    run_key: str
    total: int
    succeeded: int
    failed: int
    canceled: int
    pending: int
    retries: int
    runs: int
    steps: int
    wall_time_s: float
    results_dir: Path | None
    budget_exhausted: bool
    interrupted: bool
    failed_tasks: list[FailedTask] = field(default_factory=list)
    # The spec file as the operator named it, so the "look closer" command can be pasted
    # as is; None falls back to the batch name.
    spec_path: Path | None = None

    def headline(self) -> str:
        counts = f"{self.succeeded} succeeded, {self.failed} failed, {self.canceled} canceled"
        if self.pending:
            counts += f", {self.pending} pending"
        return f"Batch {self.batch} ({self.run_key}): {counts} of {self.total} tasks"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (paths as strings), the content of summary.json."""
        return {
            "batch": self.batch,
            "run_key": self.run_key,
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "canceled": self.canceled,
            "pending": self.pending,
            "retries": self.retries,
            "runs": self.runs,
            "steps": self.steps,
            "wall_time_s": self.wall_time_s,
            "results_dir": str(self.results_dir) if self.results_dir is not None else None,
            "budget_exhausted": self.budget_exhausted,
            "interrupted": self.interrupted,
            "failed_tasks": [task.as_dict() for task in self.failed_tasks],
            "spec_path": str(self.spec_path) if self.spec_path is not None else None,
        }


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
