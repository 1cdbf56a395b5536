"""One plain line per event, for cron mail and log files: no colour, no control codes."""

from __future__ import annotations

from batchrun.console.sink import ConsoleSink
from batchrun.console.summary_text import summary_lines
from batchrun.console.wording import describe, one_line, utc_timestamp
from batchrun.events import BatchEvent
from batchrun.summary import BatchSummary

_LEVEL_LABEL = {"debug": "DEBUG", "info": "INFO", "warning": "WARN", "error": "ERROR"}


def format_plain_line(event: BatchEvent) -> str:
    """`2026-11-30T03:12:01Z INFO  prices/run-1 task=sku-17 attempt=2 run=tsk_1 status=… msg`"""
    parts = [utc_timestamp(event.ts), f"{_LEVEL_LABEL.get(event.level, event.level.upper()):<5}"]
    parts.append(one_line(event.batch))
    for label, value in (
        ("task", event.task),
        ("attempt", event.attempt),
        ("run", event.run_id),
        ("status", event.status),
    ):
        if value is not None:
            parts.append(f"{label}={one_line(str(value))}")
    parts.append(one_line(describe(event)))
    return " ".join(parts)


class PlainLogSink(ConsoleSink):
    shows_hidden_events = False  # `_show` prints visible events only

    def _show(self, event: BatchEvent) -> None:
        if self._is_visible(event):
            # Redacted again as a whole line: a secret could straddle two fields.
            self._write_line(self._redactor.text(format_plain_line(event)))

    def print_summary(self, summary: BatchSummary) -> None:
        for line in summary_lines(summary, self.hint_args):
            self._write_line(self._redactor.text(one_line(line.text)))
