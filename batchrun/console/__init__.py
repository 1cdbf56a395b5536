"""What the operator sees of a batch: a live display in a terminal, plain or JSON lines in logs.

`make_event_sink` picks the format; every format shares the same redaction of secrets.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Literal, TextIO

from batchrun.lazy import lazy_attributes

if TYPE_CHECKING:
    from batchrun.console.sink import ConsoleSink

LogFormat = Literal["auto", "plain", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("auto", "plain", "json")

__all__ = ["LOG_FORMATS", "ConsoleSink", "LogFormat", "make_event_sink"]


def make_event_sink(
    *, stream: TextIO, log_format: LogFormat, quiet: bool, secrets: Collection[str] = ()
) -> ConsoleSink:
    """`auto` means the live display on a terminal and plain lines anywhere else (cron, pipes).

    `quiet` keeps only warnings, errors and the summary, so it never draws the live display.
    """
    # Imported here: every command uses the console's wording, only `apply` its sinks (the
    # live display's rich, the summary's state reader).
    from batchrun.redaction import Redactor

    redactor = Redactor(secrets)
    if log_format == "json":
        from batchrun.console.jsonlog import JsonLogSink

        return JsonLogSink(stream, redactor, quiet=quiet)
    if log_format == "auto" and not quiet and _is_terminal(stream):
        from batchrun.console.live import LiveProgressSink

        return LiveProgressSink(stream, redactor)
    from batchrun.console.plain import PlainLogSink

    return PlainLogSink(stream, redactor, quiet=quiet)


__getattr__ = lazy_attributes(__name__, {"ConsoleSink": "batchrun.console.sink"})


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
