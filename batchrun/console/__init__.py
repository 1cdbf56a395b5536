"""What the operator sees of a batch: a live display in a terminal, plain or JSON lines in logs.

`make_event_sink` picks the format; every format shares the same redaction of secrets.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal, TextIO

from batchrun.console.jsonlog import JsonLogSink
from batchrun.console.live import LiveProgressSink
from batchrun.console.plain import PlainLogSink
from batchrun.console.sink import ConsoleSink
from batchrun.redaction import Redactor

LogFormat = Literal["auto", "plain", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("auto", "plain", "json")

__all__ = ["LOG_FORMATS", "ConsoleSink", "LogFormat", "make_event_sink"]


def make_event_sink(
    *, stream: TextIO, log_format: LogFormat, quiet: bool, secrets: Collection[str] = ()
) -> ConsoleSink:
    """`auto` means the live display on a terminal and plain lines anywhere else (cron, pipes).

    `quiet` keeps only warnings, errors and the summary, so it never draws the live display.
    """
    redactor = Redactor(secrets)
    if log_format == "json":
        return JsonLogSink(stream, redactor, quiet=quiet)
    if log_format == "auto" and not quiet and _is_terminal(stream):
        return LiveProgressSink(stream, redactor)
    return PlainLogSink(stream, redactor, quiet=quiet)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
