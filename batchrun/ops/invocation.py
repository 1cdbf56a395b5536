"""The beginning and the end of one `apply` invocation, the same whether it ran tasks or
proved without loading the spec that the instance had ended (`ops/unchanged.py`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchrun.errors import BatchrunError, ExitCode
from batchrun.events import BatchEvent, EventKind
from batchrun.export import ResultsDir
from batchrun.ops.results import write_summary_and_report
from batchrun.state import BatchRecord, StateStore
from batchrun.summary import BatchSummary, summarise


@dataclass(frozen=True)
class ApplyResult:
    summary: BatchSummary
    exit_code: ExitCode
    error: BatchrunError | None  # what stopped the batch early, if anything did
    report_path: Path | None


def located_event(label: str, state_path: Path, run_key: str, *, new: bool) -> BatchEvent:
    return BatchEvent(
        EventKind.BATCH_LOCATED,
        label,
        f"state {state_path} · instance {label}" + (" (new)" if new else ""),
        data={"state_path": str(state_path), "run_key": run_key},
    )


def started_message(total: int, to_run: int, concurrency: int) -> str:
    return f"{total} task{'' if total == 1 else 's'}, {to_run} to run, concurrency {concurrency}"


@dataclass(frozen=True)
class InvocationEnd:
    """How one invocation ended, beyond what the state says."""

    active_s: float = 0.0
    stopped: dict[str, Any] | None = None
    expected_wall_time_s: float | None = None
    webhooks: dict[str, int] | None = None


def close_invocation(
    store: StateStore,
    batch: BatchRecord,
    spec_task_ids: Collection[str] | None,
    *,
    results: ResultsDir,
    spec_path: Path,
    state_path: Path,
    end: InvocationEnd,
) -> BatchSummary:
    """Count the instance from the state, record the invocation's end and its summary event."""
    counted = summarise(
        store,
        batch,
        spec_task_ids,
        results_dir=results.path,
        spec_path=spec_path,
        state_path=state_path,
    )
    store.end_invocation(
        batch.id, finished=counted.finished, active_s=end.active_s, stopped=end.stopped
    )
    # Only the instance's own row changed since the tasks were counted: no second pass.
    batch = store.find_batch(batch.spec_name, batch.run_key) or batch
    summary = dataclasses.replace(
        counted,
        active_time_s=batch.active_s,
        stopped=batch.stopped,
        expected_wall_time_s=end.expected_wall_time_s,
        webhooks=end.webhooks,
    )
    label = f"{batch.spec_name}/{batch.run_key}"
    store.add_event(
        batch.id,
        BatchEvent(EventKind.BATCH_FINISHED, label, summary.headline(), data=summary.as_dict()),
    )
    store.flush_events()
    return summary


def write_results(
    results: ResultsDir,
    summary: BatchSummary,
    error: BatchrunError | None,
    *,
    report: bool,
    extra: dict[str, Any],
) -> ApplyResult:
    report_path = write_summary_and_report(results, summary, report=report, extra=extra)
    return ApplyResult(summary, exit_code_for(summary, error), error, report_path)


def exit_code_for(summary: BatchSummary, error: BatchrunError | None) -> ExitCode:
    if summary.interrupted:
        return ExitCode.INTERRUPTED
    if error is not None:
        return error.exit_code
    if summary.halted:
        return ExitCode.HALTED
    if summary.budget_exhausted and summary.pending:
        return ExitCode.BUDGET_EXHAUSTED
    if summary.failed or summary.canceled or summary.file_errors:
        return ExitCode.TASKS_FAILED
    return ExitCode.OK
