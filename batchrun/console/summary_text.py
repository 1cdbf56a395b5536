"""The end-of-batch summary as lines of text, each with a style for terminals that have colour."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from batchrun.summary import BatchSummary, format_duration


@dataclass(frozen=True)
class SummaryLine:
    text: str
    style: str = ""  # a rich style; ignored by the plain and JSON logs


def inspect_command(summary: BatchSummary, task_id: str) -> str:
    spec = str(summary.spec_path) if summary.spec_path is not None else summary.batch
    return shlex.join(["batchrun", "inspect", spec, task_id, "--run", summary.run_key])


def summary_lines(summary: BatchSummary) -> list[SummaryLine]:
    troubled = summary.failed or summary.canceled or summary.interrupted
    lines = [
        SummaryLine(summary.headline(), "bold red" if troubled else "bold green"),
        SummaryLine(
            f"  retries {summary.retries} · runs {summary.runs} · steps {summary.steps}"
            f" · wall time {format_duration(summary.wall_time_s)}"
        ),
    ]
    if summary.results_dir is not None:
        lines.append(SummaryLine(f"  results: {summary.results_dir}"))
    if summary.budget_exhausted:
        lines.append(SummaryLine("  budget exhausted: some tasks were left unstarted", "yellow"))
    if summary.interrupted:
        lines.append(SummaryLine("  interrupted: run the same command again to resume", "yellow"))
    if summary.failed_tasks:
        lines.append(SummaryLine("Failed tasks:", "bold red"))
    for task in summary.failed_tasks:
        run = f", run {task.run_id}" if task.run_id else ""
        lines.append(
            SummaryLine(f"  {task.task_id} (attempts {task.attempts}{run}): {task.reason}", "red")
        )
        lines.append(SummaryLine(f"    look closer: {inspect_command(summary, task.task_id)}"))
    return lines
