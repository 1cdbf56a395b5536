"""The end-of-batch summary as lines of text, each with a style for terminals that have colour."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from batchrun.summary import BatchSummary, format_duration

MAX_FAILED_SHOWN = 20  # the rest are in the tables and `batchrun status`


@dataclass(frozen=True)
class SummaryLine:
    text: str
    style: str = ""  # a rich style; ignored by the plain and JSON logs


def inspect_command(summary: BatchSummary, task_id: str, hint_args: Sequence[str] = ()) -> str:
    """The command that looks closer at a task, with the options this command was given
    (--state, --api-url, ...) so that it works as printed."""
    spec = str(summary.spec_path) if summary.spec_path is not None else summary.batch
    return shlex.join(["batchrun", "inspect", spec, task_id, "--run", summary.run_key, *hint_args])


def summary_lines(summary: BatchSummary, hint_args: Sequence[str] = ()) -> list[SummaryLine]:
    troubled = summary.failed or summary.canceled or summary.interrupted or summary.file_errors
    times = f"wall time {format_duration(summary.wall_time_s)}"
    if abs(summary.active_time_s - summary.wall_time_s) >= 1:
        times += f" (working {format_duration(summary.active_time_s)})"
    if summary.queued_time_s >= 1:
        times += f" · queued {format_duration(summary.queued_time_s)}"
    lines = [
        SummaryLine(summary.headline(), "bold red" if troubled else "bold green"),
        SummaryLine(
            f"  retries {summary.retries} · runs {summary.runs} · steps {summary.steps} · {times}"
        ),
    ]
    if summary.results_dir is not None:
        lines.append(SummaryLine(f"  results: {summary.results_dir}"))
    if summary.removed:
        lines.append(SummaryLine(f"  {summary.removed} task(s) no longer in the spec, left out"))
    if summary.file_errors:
        examples = "; ".join(summary.file_error_examples)
        lines.append(
            SummaryLine(f"  {summary.file_errors} file(s) could not be saved: {examples}", "red")
        )
    if summary.halted:
        lines.append(SummaryLine(f"  {summary.halted.get('message', 'halted')}", "yellow"))
    if summary.budget_exhausted:
        lines.append(SummaryLine("  budget exhausted: some tasks were left unstarted", "yellow"))
    if summary.interrupted:
        lines.append(SummaryLine("  interrupted: run the same command again to resume", "yellow"))
    if summary.failed_tasks:
        lines.append(SummaryLine("Failed tasks:", "bold red"))
    for task in summary.failed_tasks[:MAX_FAILED_SHOWN]:
        run = f", run {task.run_id}" if task.run_id else ""
        lines.append(
            SummaryLine(
                f"  {task.task_id} ({task.end_status}, attempts {task.attempts}{run}): "
                f"{task.reason}",
                "red",
            )
        )
        lines.append(
            SummaryLine(f"    look closer: {inspect_command(summary, task.task_id, hint_args)}")
        )
    hidden = summary.failed_total - min(len(summary.failed_tasks), MAX_FAILED_SHOWN)
    if hidden > 0:
        lines.append(SummaryLine(f"  ... and {hidden} more (batchrun status lists them)"))
    return lines
