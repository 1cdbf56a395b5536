"""One JSON object per line, for log shippers."""

from __future__ import annotations

import json
import time
from typing import Any

from batchrun.console.sink import ConsoleSink
from batchrun.console.wording import describe, utc_timestamp
from batchrun.events import BatchEvent
from batchrun.summary import BatchSummary


# Secrets are masked in the values before encoding, never in the encoded line: masking a
# 4-digit secret there could turn a number into `***` and break the JSON.
def _dumps(record: dict[str, Any]) -> str:
    # default=str: event data may hold datetimes or paths; a log line must never fail.
    return json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":"))


def format_json_line(event: BatchEvent) -> str:
    return _dumps(
        {
            "ts": utc_timestamp(event.ts, milliseconds=True),
            "level": event.level,
            "kind": str(event.kind),
            "batch": event.batch,
            "task": event.task,
            "attempt": event.attempt,
            "run_id": event.run_id,
            "status": event.status,
            "message": describe(event),
            "data": event.data,
        }
    )


class JsonLogSink(ConsoleSink):
    shows_hidden_events = False  # `_show` prints visible events only

    def _show(self, event: BatchEvent) -> None:
        if self._is_visible(event):
            self._write_line(format_json_line(event))

    def print_summary(self, summary: BatchSummary) -> None:
        # Whatever makes apply exit non-zero for the tasks' sake, lost files included.
        troubled = summary.failed or summary.canceled or summary.interrupted or summary.file_errors
        record = {
            "ts": utc_timestamp(time.time(), milliseconds=True),
            "level": "error" if troubled else "info",
            "kind": "summary",
            "batch": f"{summary.batch}/{summary.run_key}",  # as in every event line
            "task": None,
            "attempt": None,
            "run_id": None,
            "status": None,
            "message": summary.headline(),
            "data": summary.as_dict(),
        }
        self._write_line(_dumps(self._redactor.value(record)))
