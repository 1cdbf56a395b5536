"""`report.html`: a single self-contained page describing one batch run's results.

Built from the results directory alone (outputs.jsonl, summary.json, tasks/*/, diff.json),
so it can be rebuilt at any time and sent to someone who has neither batchrun nor the state
file. outputs.jsonl is read in two passes and never held whole, so writing the report of a
100,000-task batch takes flat memory and the page stays small enough to open in a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import batchrun.report.rows as report_rows  # the embedding budget is read at call time
from batchrun.errors import UsageError
from batchrun.export import atomic_write_text
from batchrun.report.chart import Timeline
from batchrun.report.diff import read_diff
from batchrun.report.page import render_page
from batchrun.report.rows import (
    EmbedBudget,
    Records,
    ReportRow,
    as_datetime,
    build_row,
    read_summary,
    status_of,
    task_id_of,
    with_thumbnail,
)
from batchrun.report.scan import scan_outputs

REPORT_NAME = "report.html"

__all__ = ["REPORT_NAME", "write_report"]


def write_report(results_dir: Path) -> Path:
    """Write `results_dir/report.html` atomically and return its path."""
    outputs = results_dir / "outputs.jsonl"
    if not outputs.is_file():
        raise UsageError(
            f"{results_dir} holds no outputs.jsonl: not a batchrun results directory"
            " (or no task has finished yet)"
        )
    view = scan_outputs(outputs)
    # Second pass: the shown rows (in display order) and the chart, now that the span is known.
    timeline = Timeline(view.first_start, view.last_finish, view.timed)
    wanted = {position: index for index, position in enumerate(view.table_positions)}
    shown: list[ReportRow | None] = [None] * len(wanted)
    for position, record in Records(outputs):
        row = None
        if position in wanted:
            row = build_row(position, record, results_dir, view.columns)
            shown[wanted[position]] = row
        started = as_datetime(record.get("started_at"))
        finished = as_datetime(record.get("finished_at"))
        if started is not None and finished is not None:
            task_id = row.task_id if row else task_id_of(position, record)
            timeline.add(started, finished, position, task_id, status_of(record))
    budget = EmbedBudget(report_rows.EMBED_BUDGET_BYTES)
    rows = [  # `None`: outputs.jsonl was rewritten between the passes
        with_thumbnail(row, results_dir, budget) for row in shown if row is not None
    ]
    summary = read_summary(results_dir / "summary.json")
    page = render_page(
        summary, view, rows, timeline, read_diff(results_dir), results_dir, datetime.now(UTC)
    )
    path = results_dir / REPORT_NAME
    atomic_write_text(path, page)
    return path
