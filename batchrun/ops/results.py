"""What an operation leaves in the results directory besides each task's own files: the
summary, the report, and the removal of tasks the spec no longer has."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from batchrun.export import ResultsDir
from batchrun.export.artifacts import requested_artifact_types
from batchrun.report import write_report
from batchrun.spec import BatchSpec
from batchrun.summary import BatchSummary

REMOVED_DIR = ".removed"


def artifact_types(spec: BatchSpec) -> tuple[str, ...]:
    settings = spec.export
    return tuple(
        requested_artifact_types(
            screenshots=settings.screenshots,
            recording=settings.recording,
            artifacts=settings.artifacts,
        )
    )


def move_removed_tasks(results: ResultsDir, task_ids: Sequence[str]) -> None:
    """Move the directories of tasks the spec dropped out of the instance's results, to
    `<results>/<spec>/.removed/<run key>/<task id>` (kept, not deleted: they were paid for)."""
    for task_id in task_ids:
        source = results.task_dir(task_id)
        if not source.is_dir():
            continue
        target = results.path.parent / REMOVED_DIR / results.path.name / task_id
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)


def write_summary_and_report(
    results: ResultsDir,
    summary: BatchSummary,
    *,
    report: bool,
    extra: dict[str, Any] | None = None,
) -> Path | None:
    """summary.json (and report.html) where the tables are; nothing when no task was ever
    exported there (the API was never reached)."""
    if not results.path.exists():
        return None
    results.write_summary({**summary.as_dict(), **(extra or {})})
    if report and (results.path / "outputs.jsonl").exists():
        return write_report(results.path)
    return None
