"""Feeds a small batch's events into `make_event_sink` on stdout, as the scheduler will.

Run as a script by the console tests, under a pipe or a pseudo-terminal:
`python feed_events.py FORMAT [--quiet]`; the secret to hide comes from FEED_SECRET.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from batchrun.console import make_event_sink
from batchrun.events import BatchEvent, EventKind
from batchrun.summary import BatchSummary, FailedTask

BATCH = "prices/run-7"


def batch_events(secret: str) -> list[BatchEvent]:
    def event(kind: EventKind, **fields: object) -> BatchEvent:
        return BatchEvent(kind, BATCH, **fields)  # type: ignore[arg-type]

    return [
        event(
            EventKind.BATCH_STARTED,
            data={"total": 4, "to_run": 3, "skipped": 1, "concurrency": 2},
        ),
        event(EventKind.TASK_SUBMITTED, task="sku-1", attempt=1, run_id="tsk_1", status="queued"),
        event(EventKind.TASK_SUBMITTED, task="sku-2", attempt=1, run_id="tsk_2", status="queued"),
        event(EventKind.RUN_STATUS, task="sku-1", attempt=1, run_id="tsk_1", status="running"),
        event(
            EventKind.TASK_SUCCEEDED, task="sku-1", attempt=1, run_id="tsk_1", status="completed"
        ),
        event(
            EventKind.RETRY_SCHEDULED,
            level="warning",
            task="sku-2",
            attempt=1,
            run_id="tsk_2",
            status="failed",
            data={"delay_s": 2.0, "reason": "page timed out", "headers": {"x-api-key": secret}},
        ),
        event(EventKind.TASK_SUBMITTED, task="sku-2", attempt=2, run_id="tsk_3", status="queued"),
        event(EventKind.TASK_SUBMITTED, task="sku-3", attempt=1, run_id="tsk_4", status="queued"),
        event(
            EventKind.TASK_FAILED,
            level="error",
            message=f"login refused for key {secret}\nFORGED 2026-01-01T00:00:00Z INFO fake line",
            task="sku-2",
            attempt=2,
            run_id="tsk_3",
            status="failed",
        ),
        event(
            EventKind.TASK_SUCCEEDED, task="sku-3", attempt=1, run_id="tsk_4", status="completed"
        ),
        event(EventKind.BATCH_FINISHED, data={"succeeded": 2, "failed": 1}),
    ]


def batch_summary(secret: str) -> BatchSummary:
    start = datetime(2026, 11, 30, 3, 14, 42, tzinfo=UTC)
    return BatchSummary(
        batch=BATCH,
        run_key="run-7",
        total=4,
        counts={"succeeded": 3, "failed": 1},
        runs=4,
        retries=1,
        steps=23,
        first_submitted_at=start,
        last_finished_at=start + timedelta(seconds=252.4),
        active_time_s=252.4,
        queued_time_s=0.0,
        finished=True,
        stopped=None,
        removed=0,
        results_dir=Path("results/prices/run-7"),
        failed_tasks=[FailedTask("sku-2", "failed", f"login refused for key {secret}", "tsk_3", 2)],
        failed_total=1,
        spec_path=Path("jobs/prices.yaml"),
    )


def main(argv: list[str]) -> None:
    secret = os.environ["FEED_SECRET"]
    sink = make_event_sink(
        stream=sys.stdout,
        log_format=argv[0],  # type: ignore[arg-type]
        quiet="--quiet" in argv,
        secrets=[secret],
    )
    with sink:
        for event in batch_events(secret):
            sink.emit(event)
    sink.print_summary(batch_summary(secret))


if __name__ == "__main__":
    main(sys.argv[1:])
