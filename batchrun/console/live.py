"""The live terminal display: a progress bar with counts, rate and ETA, and the runs in flight."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
)
from rich.progress import Task as ProgressTask
from rich.table import Table
from rich.text import Text

from batchrun.console.sink import ConsoleSink
from batchrun.console.summary_text import summary_lines
from batchrun.console.tally import BatchTally
from batchrun.console.wording import describe, one_line
from batchrun.events import BatchEvent, EventKind
from batchrun.redaction import Redactor
from batchrun.summary import BatchSummary, format_duration

_MAX_RUNS_SHOWN = 8

_FINAL_MARKS = {
    EventKind.TASK_SUCCEEDED: ("✓", "green"),
    EventKind.TASK_FAILED: ("✗", "bold red"),
    EventKind.TASK_CANCELED: ("⊘", "yellow"),
    EventKind.RETRY_SCHEDULED: ("↻", "yellow"),
}
_LEVEL_MARKS = {"warning": ("!", "yellow"), "error": ("✗", "bold red")}


class _RateAndEtaColumn(ProgressColumn):
    """Rate and ETA over the whole batch so far: browser runs take minutes and finish in
    bursts, so a short sliding window (rich's own speed) swings wildly."""

    def __init__(self, tally: BatchTally) -> None:
        super().__init__()
        self._tally = tally

    def render(self, task: ProgressTask) -> Text:
        now = time.time()
        rate = self._tally.rate_per_minute(now)
        eta = self._tally.eta_seconds(now)
        return Text.assemble(
            (f"{rate:.1f}/min" if rate is not None else "–/min", "progress.data.speed"),
            " ETA ",
            (format_duration(eta) if eta is not None else "–", "progress.remaining"),
        )


class BatchStatusView:
    """Counts and runs in flight, read from the tally each time rich draws a frame, so the
    numbers always agree with the bar drawn in the same frame."""

    def __init__(self, tally: BatchTally, lock: threading.Lock) -> None:
        self._tally = tally
        self._lock = lock

    def __rich__(self) -> RenderableType:
        with self._lock:
            tally = self._tally
            counts = Text.assemble(
                (f"{tally.succeeded} done", "green"),
                " · ",
                (f"{len(tally.in_flight)} running", "cyan"),
                " · ",
                f"{tally.waiting if tally.waiting is not None else '?'} waiting",
                " · ",
                (f"{tally.failed} failed", "red" if tally.failed else ""),
            )
            if tally.canceled:
                counts.append(f" · {tally.canceled} canceled", style="yellow")
            if tally.retries:
                counts.append(f" · {tally.retries} retries")
            if tally.skipped:
                counts.append(f" · {tally.skipped} already done", style="dim")
            runs = sorted(tally.in_flight.values(), key=lambda run: run.since)
        table = Table(box=None, pad_edge=False, header_style="dim")
        for column in ("task", "run", "attempt", "status", "elapsed"):
            table.add_column(column)
        now = time.time()
        for run in runs[:_MAX_RUNS_SHOWN]:
            table.add_row(
                one_line(run.task),
                one_line(run.run_id or "…"),
                str(run.attempt or ""),
                one_line(run.status),
                format_duration(now - run.since),
            )
        if len(runs) > _MAX_RUNS_SHOWN:
            table.add_row(f"… {len(runs) - _MAX_RUNS_SHOWN} more", "", "", "", "")
        return Group(counts, table) if runs else counts


class LiveProgressSink(ConsoleSink):
    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        super().__init__(stream, redactor, quiet=False)
        self._console = Console(file=stream, highlight=False)
        self._tally = BatchTally()
        # The display refreshes from rich's own thread while the scheduler emits events.
        self._lock = threading.Lock()
        self._progress = Progress(
            # markup=False: the batch name must not be read as rich markup.
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            _RateAndEtaColumn(self._tally),
            console=self._console,
            auto_refresh=False,
        )
        self._bar = self._progress.add_task("batch", total=None)
        self._live = Live(
            Group(self._progress, BatchStatusView(self._tally, self._lock)),
            console=self._console,
            refresh_per_second=4,
        )

    def __enter__(self) -> LiveProgressSink:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()

    def _show(self, event: BatchEvent) -> None:
        with self._lock:
            self._tally.apply(event)
            total, finished, batch = self._tally.to_run, self._tally.finished, self._tally.batch
        self._progress.update(self._bar, total=total, completed=finished, description=batch)
        mark = _FINAL_MARKS.get(event.kind) or _LEVEL_MARKS.get(event.level)
        if mark is not None and self._is_visible(event):
            self._console.print(self._event_line(event, *mark))

    def _event_line(self, event: BatchEvent, symbol: str, style: str) -> Text:
        who = event.task or event.batch
        attempt = f" (attempt {event.attempt})" if event.attempt else ""
        return Text.assemble(
            (time.strftime("%H:%M:%S", time.localtime(event.ts)), "dim"),
            " ",
            (symbol, style),
            " ",
            (one_line(who), "bold"),
            f"{attempt} ",
            (one_line(describe(event)), style),
        )

    def print_summary(self, summary: BatchSummary) -> None:
        for line in summary_lines(summary, self.hint_args):
            text = self._redactor.text(one_line(line.text))
            self._console.print(Text(text, style=line.style))
