"""The console sink every display and log format shares: redaction and level filtering."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TextIO

from batchrun.events import BatchEvent
from batchrun.redaction import Redactor
from batchrun.summary import BatchSummary

_LEVEL_RANK = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class ConsoleSink(ABC):
    """An `EventSink` that shows a batch to a person or a log file.

    Use it as a context manager around the batch so that a live display starts and stops
    cleanly; `print_summary` ends the batch's output.
    """

    def __init__(self, stream: TextIO, redactor: Redactor, *, quiet: bool) -> None:
        self._stream = stream
        self._redactor = redactor
        self._min_rank = _LEVEL_RANK["warning" if quiet else "info"]
        # Options to repeat in the commands the summary suggests (--state, --api-url, ...).
        self.hint_args: list[str] = []

    # Whether `_show` looks at events below the level shown (the live display counts them);
    # a format that only prints lines is spared redacting what it would drop.
    shows_hidden_events = True

    def emit(self, event: BatchEvent) -> None:
        if not self.shows_hidden_events and not self._is_visible(event):
            return
        # Redacted before anything else looks at it: no format can leak what it never saw.
        self._show(self._redacted(event))

    def _redacted(self, event: BatchEvent) -> BatchEvent:
        if not self._redactor.active:
            return event
        redactor = self._redactor
        return dataclasses.replace(
            event,
            batch=redactor.text(event.batch),
            message=redactor.text(event.message),
            task=redactor.value(event.task),
            run_id=redactor.value(event.run_id),
            status=redactor.value(event.status),
            data=redactor.value(event.data),
        )

    def _is_visible(self, event: BatchEvent) -> bool:
        return _LEVEL_RANK.get(event.level, _LEVEL_RANK["info"]) >= self._min_rank

    @abstractmethod
    def _show(self, event: BatchEvent) -> None: ...

    @abstractmethod
    def print_summary(self, summary: BatchSummary) -> None: ...

    def __enter__(self) -> ConsoleSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def _write_line(self, line: str) -> None:
        # Flushed per line: a cron log or a `tail -f` sees each event as it happens.
        self._stream.write(line + "\n")
        self._stream.flush()
