"""How an event reads on one line: shared by the plain log and the live display."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from batchrun.events import BatchEvent, EventKind

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """Text safe for a single terminal line: messages come from web pages and may carry
    newlines or escape sequences that would forge log lines or drive the terminal."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def plural(count: object, noun: str) -> str:
    """`1 task`, `2 tasks`: a count never reads "1 tasks"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def utc_timestamp(ts: float, *, milliseconds: bool = False) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(event: BatchEvent) -> str:
    """The event's message, or a plain description when the emitter left it empty."""
    if event.message:
        return event.message
    data = event.data
    match event.kind:
        case EventKind.BATCH_STARTED:
            return (
                f"batch started: {plural(data.get('total', '?'), 'task')},"
                f" {data.get('to_run', '?')} to run, {data.get('skipped', 0)} already done,"
                f" concurrency {data.get('concurrency', '?')}"
            )
        case EventKind.TASK_SUBMITTED:
            return "run submitted"
        case EventKind.RUN_STATUS:
            return f"run is {event.status}"
        case EventKind.RUN_RECONCILED:
            return "ambiguous submit resolved by lookup"
        case EventKind.RUN_REATTACHED:
            return "re-attached to a run the server had already accepted"
        case EventKind.RETRY_SCHEDULED:
            reason = f": {data['reason']}" if data.get("reason") else ""
            return f"retry in {data.get('delay_s', '?')}s{reason}"
        case EventKind.TASK_SUCCEEDED:
            return "task succeeded"
        case EventKind.TASK_FAILED:
            return "task failed"
        case EventKind.TASK_CANCELED:
            return "task canceled"
        case EventKind.FILES_EXPORTED:
            return "files exported"
        case EventKind.THROTTLED:
            return (
                f"API throttled: concurrency now {data.get('limit', '?')},"
                f" retry after {data.get('retry_after', '?')}s"
            )
        case EventKind.BUDGET_EXHAUSTED:
            return "budget exhausted: no new runs will start"
        case EventKind.BATCH_FINISHED:
            return "batch finished"
        case _:
            return str(event.kind).replace("_", " ")
