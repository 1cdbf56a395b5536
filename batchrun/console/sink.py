"""The console sink every display and log format shares: redaction and level filtering."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import TextIO

from batchrun.console.redaction import Redactor
from batchrun.events import BatchEvent
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

    def emit(self, event: BatchEvent) -> None:
        # Redacted before anything else looks at it: no format can leak what it never saw.
        self._show(self._redactor.event(event))

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
