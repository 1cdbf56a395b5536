"""The runs-over-time chart: one bar per task from its start to its finish, as inline SVG."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from batchrun.report.rows import ReportRow
from batchrun.summary import format_duration

WIDTH = 1000
LABEL_WIDTH = 170
AXIS_HEIGHT = 26
ROW_HEIGHT = 16
MAX_PLOT_HEIGHT = 640  # a 10,000-task batch gets hairline bars, not a 160,000 px picture
MIN_LABELLED_ROW = 11
TICKS = 6


def status_class(status: str) -> str:
    """A CSS class from a status; statuses come from files, so keep only safe characters."""
    return "st-" + "".join(c for c in status.lower() if c.isascii() and (c.isalnum() or c == "_"))


def timeline_svg(rows: Sequence[ReportRow]) -> str:
    timed = sorted(
        (
            (row.started_at, row.finished_at, row)
            for row in rows
            if row.started_at is not None and row.finished_at is not None
        ),
        key=lambda item: (item[0], item[2].position),
    )
    if not timed:
        return '<p class="empty">No task has both a start and a finish time yet.</p>'
    start = min(started for started, _, _ in timed)
    end = max(finished for _, finished, _ in timed)
    span = max((end - start).total_seconds(), 1.0)
    plot_height = min(len(timed) * ROW_HEIGHT, MAX_PLOT_HEIGHT)
    row_height = plot_height / len(timed)
    plot_width = WIDTH - LABEL_WIDTH - 40  # room for the last tick's label
    height = plot_height + AXIS_HEIGHT

    def x_at(moment: datetime) -> float:
        return LABEL_WIDTH + (moment - start).total_seconds() / span * plot_width

    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img" aria-label="Runs over time">'
    ]
    for tick in range(TICKS + 1):
        x = LABEL_WIDTH + plot_width * tick / TICKS
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{plot_height}"/>'
            f'<text class="tick" x="{x:.1f}" y="{plot_height + 16}">'
            f"{escape(format_duration(span * tick / TICKS)) if tick else '0'}</text>"
        )
    for index, (started, finished, row) in enumerate(timed):
        y = index * row_height
        x = x_at(started)
        width = max(x_at(finished) - x, 1.0)
        bar_height = max(row_height * 0.8, 0.5)
        tip = (
            f"{row.task_id}: {row.status}, {format_duration(row.duration_s or 0.0)}"
            f" from {started.isoformat()} to {finished.isoformat()}"
        )
        parts.append(
            f'<rect class="bar {status_class(row.status)}" x="{x:.2f}" y="{y:.2f}"'
            f' width="{width:.2f}" height="{bar_height:.2f}"><title>{escape(tip)}</title></rect>'
        )
        if row_height >= MIN_LABELLED_ROW:
            parts.append(
                f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y + row_height * 0.7:.1f}">'
                f"{escape(row.task_id[:28])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
