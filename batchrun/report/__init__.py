"""`report.html`: a single self-contained page describing one batch run's results.

Built from the results directory alone (outputs.jsonl, summary.json, tasks/*/), so it can
be rebuilt at any time and sent to someone who has neither batchrun nor the state file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from batchrun.errors import UsageError
from batchrun.export import atomic_write_text
from batchrun.report.page import render_page
from batchrun.report.rows import read_summary, read_task_table

REPORT_NAME = "report.html"

__all__ = ["REPORT_NAME", "write_report"]


def write_report(results_dir: Path) -> Path:
    """Write `results_dir/report.html` atomically and return its path."""
    if not (results_dir / "outputs.jsonl").is_file():
        raise UsageError(
            f"{results_dir} holds no outputs.jsonl: not a batchrun results directory"
            " (or no task has finished yet)"
        )
    table = read_task_table(results_dir)
    summary = read_summary(results_dir / "summary.json")
    page = render_page(summary, table, results_dir, datetime.now(UTC))
    path = results_dir / REPORT_NAME
    atomic_write_text(path, page)
    return path
