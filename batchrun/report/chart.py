"""The runs-over-time chart, as inline SVG.

Up to BAR_LIMIT timed tasks it draws one bar per task from its start to its finish. Past
that, bars would be sub-pixel and the SVG megabytes, so it draws a histogram over fixed
time buckets instead: tasks in flight per bucket (top) and tasks finished per bucket,
stacked by status (bottom). Both are fed one task at a time, so memory is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape

from batchrun.summary import format_duration

BAR_LIMIT = 500
BUCKETS = 120
WIDTH = 1000
LABEL_WIDTH = 170
AXIS_HEIGHT = 26
ROW_HEIGHT = 16
MAX_PLOT_HEIGHT = 640
MIN_LABELLED_ROW = 11
TICKS = 6
PANEL_HEIGHT = 150
_STACK = ("succeeded", "failed", "canceled")  # then everything else, as "other"


def status_class(status: str) -> str:
    """A CSS class from a status; statuses come from files, so keep only safe characters."""
    return "st-" + "".join(c for c in status.lower() if c.isascii() and (c.isalnum() or c == "_"))


@dataclass(frozen=True)
class _Bar:
    started: datetime
    finished: datetime
    position: int
    task_id: str
    status: str


class Timeline:
    """Fed every timed task of the second pass; `svg()` draws bars or the histogram."""

    def __init__(self, start: datetime | None, end: datetime | None, timed: int) -> None:
        self.start = start
        self.span = max((end - start).total_seconds(), 1.0) if start and end else 1.0
        self.per_task = timed <= BAR_LIMIT
        self.bars: list[_Bar] = []
        self.buckets = BUCKETS
        self.in_flight_delta = [0] * (BUCKETS + 1)
        self.finished = [[0] * (len(_STACK) + 1) for _ in range(BUCKETS)]

    def add(
        self, started: datetime, finished: datetime, position: int, task_id: str, status: str
    ) -> None:
        if self.start is None:
            return
        if self.per_task:
            self.bars.append(_Bar(started, finished, position, task_id, status))
            return
        first, last = self._bucket(started), self._bucket(finished)
        self.in_flight_delta[first] += 1
        self.in_flight_delta[max(last, first) + 1] -= 1
        slot = _STACK.index(status) if status in _STACK else len(_STACK)
        self.finished[last][slot] += 1

    def _bucket(self, moment: datetime) -> int:
        offset = (moment - self.start).total_seconds() if self.start else 0.0
        return min(max(int(offset / self.span * self.buckets), 0), self.buckets - 1)

    def svg(self) -> str:
        if self.start is None or (self.per_task and not self.bars):
            return '<p class="empty">No task has both a start and a finish time yet.</p>'
        return self._bars_svg() if self.per_task else self._histogram_svg()

    def _axis(self, parts: list[str], top: float, height: float, width: float) -> None:
        for tick in range(TICKS + 1):
            x = LABEL_WIDTH + width * tick / TICKS
            label = escape(format_duration(self.span * tick / TICKS)) if tick else "0"
            parts.append(
                f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + height}"/>'
                f'<text class="tick" x="{x:.1f}" y="{top + height + 16}">{label}</text>'
            )

    def _bars_svg(self) -> str:
        bars = sorted(self.bars, key=lambda bar: (bar.started, bar.position))
        plot_height = min(len(bars) * ROW_HEIGHT, MAX_PLOT_HEIGHT)
        row_height = plot_height / len(bars)
        plot_width = WIDTH - LABEL_WIDTH - 40  # room for the last tick's label
        height = plot_height + AXIS_HEIGHT
        x_at = self._x_scale(plot_width)
        parts = [_svg_open(height, "Runs over time, one bar per task")]
        self._axis(parts, 0, plot_height, plot_width)
        for index, bar in enumerate(bars):
            y = index * row_height
            x = x_at(bar.started)
            width = max(x_at(bar.finished) - x, 1.0)
            duration = (bar.finished - bar.started).total_seconds()
            tip = (
                f"{bar.task_id}: {bar.status}, {format_duration(duration)}"
                f" from {bar.started.isoformat()} to {bar.finished.isoformat()}"
            )
            parts.append(
                f'<rect class="bar {status_class(bar.status)}" x="{x:.2f}" y="{y:.2f}"'
                f' width="{width:.2f}" height="{max(row_height * 0.8, 0.5):.2f}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if row_height >= MIN_LABELLED_ROW:
                parts.append(
                    f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y + row_height * 0.7:.1f}">'
                    f"{escape(bar.task_id[:28])}</text>"
                )
        parts.append("</svg>")
        return "".join(parts)

    def _x_scale(self, plot_width: float) -> Callable[[datetime], float]:
        start = self.start
        assert start is not None

        def x_at(moment: datetime) -> float:
            return LABEL_WIDTH + (moment - start).total_seconds() / self.span * plot_width

        return x_at

    def _histogram_svg(self) -> str:
        plot_width = WIDTH - LABEL_WIDTH - 40
        step = plot_width / self.buckets
        in_flight: list[int] = []
        running = 0
        for delta in self.in_flight_delta[: self.buckets]:
            running += delta
            in_flight.append(running)
        done = [sum(counts) for counts in self.finished]
        top2 = PANEL_HEIGHT + AXIS_HEIGHT + 10
        height = top2 + PANEL_HEIGHT + AXIS_HEIGHT
        parts = [_svg_open(height, "Tasks in flight and finished per time bucket")]
        bucket_s = self.span / self.buckets
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="14">in flight</text>'
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="30">max {max(in_flight):,}</text>'
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{top2 + 14}">finished per</text>'
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{top2 + 30}">'
            f"{escape(format_duration(bucket_s))}</text>"
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{top2 + 46}">max {max(done):,}</text>'
        )
        self._axis(parts, 0, PANEL_HEIGHT, plot_width)
        self._axis(parts, top2, PANEL_HEIGHT, plot_width)
        flight_scale = PANEL_HEIGHT / max(max(in_flight), 1)
        done_scale = PANEL_HEIGHT / max(max(done), 1)
        for index in range(self.buckets):
            x = LABEL_WIDTH + index * step
            span = (
                f"{format_duration(index * bucket_s) if index else '0'}"
                f"–{format_duration((index + 1) * bucket_s)}"
            )
            if in_flight[index]:
                bar_height = in_flight[index] * flight_scale
                parts.append(
                    f'<rect class="bar st-running" x="{x:.2f}" y="{PANEL_HEIGHT - bar_height:.2f}"'
                    f' width="{step:.2f}" height="{bar_height:.2f}">'
                    f"<title>{escape(span)}: {in_flight[index]:,} in flight</title></rect>"
                )
            base = top2 + PANEL_HEIGHT
            names = [*_STACK, "other"]
            for slot, count in enumerate(self.finished[index]):
                if not count:
                    continue
                bar_height = count * done_scale
                base -= bar_height
                parts.append(
                    f'<rect class="bar {status_class(names[slot])}" x="{x:.2f}" y="{base:.2f}"'
                    f' width="{step:.2f}" height="{bar_height:.2f}"><title>{escape(span)}:'
                    f" {count:,} {names[slot]}</title></rect>"
                )
        parts.append("</svg>")
        return "".join(parts)


def _svg_open(height: float, label: str) -> str:
    return (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img" aria-label="{escape(label)}">'
    )
