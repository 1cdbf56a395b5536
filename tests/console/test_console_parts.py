"""The pieces behind the console: redaction, the tally, and the runs-in-flight view."""

from __future__ import annotations

import io
import re
import threading

from rich.console import Console

from batchrun.console.live import BatchStatusView
from batchrun.console.tally import BatchTally
from batchrun.events import BatchEvent, EventKind
from batchrun.redaction import Redactor


def test_a_secret_containing_another_is_masked_whole() -> None:
    redactor = Redactor(["abcd", "abcdefgh"])
    assert redactor.text("xx abcdefgh yy abcd") == "xx *** yy ***"


def test_too_short_values_are_not_treated_as_secrets() -> None:
    assert Redactor(["us", "10"]).text("proxy us, 10 steps") == "proxy us, 10 steps"


def test_redaction_reaches_nested_keys_and_values() -> None:
    redactor = Redactor(["s3cr3t-value"])
    value = {"headers": [{"s3cr3t-value": "Bearer s3cr3t-value"}], "n": 5}
    assert redactor.value(value) == {"headers": [{"***": "Bearer ***"}], "n": 5}


def _feed(tally: BatchTally, *events: BatchEvent) -> None:
    for event in events:
        tally.apply(event)


def test_the_tally_counts_retries_and_waiting_tasks() -> None:
    tally = BatchTally()
    _feed(
        tally,
        BatchEvent(EventKind.BATCH_STARTED, "b", data={"total": 5, "to_run": 4, "skipped": 1}),
        BatchEvent(EventKind.TASK_SUBMITTED, "b", task="t1", attempt=1, run_id="r1"),
        BatchEvent(EventKind.TASK_SUBMITTED, "b", task="t2", attempt=1, run_id="r2"),
        BatchEvent(EventKind.RETRY_SCHEDULED, "b", task="t2", attempt=1, run_id="r2"),
        BatchEvent(EventKind.TASK_SUCCEEDED, "b", task="t1", attempt=1, run_id="r1"),
    )
    assert (tally.succeeded, len(tally.in_flight), tally.waiting, tally.retries) == (1, 0, 3, 1)


def test_the_view_lists_runs_in_flight_with_their_status() -> None:
    tally = BatchTally()
    _feed(
        tally,
        BatchEvent(EventKind.BATCH_STARTED, "b", data={"total": 12, "to_run": 12}),
        *(
            BatchEvent(EventKind.TASK_SUBMITTED, "b", task=f"t{i}", attempt=1, run_id=f"tsk_{i}")
            for i in range(10)
        ),
        BatchEvent(EventKind.RUN_STATUS, "b", task="t0", run_id="tsk_0", status="running"),
        BatchEvent(EventKind.TASK_FAILED, "b", task="t9", run_id="tsk_9", status="failed"),
    )
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(BatchStatusView(tally, threading.Lock()))
    drawn = out.getvalue()
    assert "0 done · 9 running · 2 waiting · 1 failed" in drawn
    assert re.search(r"^t0 +tsk_0 +1 +running ", drawn, re.MULTILINE)
    assert re.search(r"^t1 +tsk_1 +1 +created ", drawn, re.MULTILINE)
    assert "… 1 more" in drawn  # the view keeps to a screenful
    assert "tsk_9" not in drawn
