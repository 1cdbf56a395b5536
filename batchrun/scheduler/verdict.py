"""What a finished run means for its task: success, a retry later, or a final failure.

Pure decisions from the spec's retry policy, the run's final status and its output; no I/O.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from batchrun.client import TERMINAL_STATUSES, RunResponse
from batchrun.output_check import OutputVerdict, check_output
from batchrun.scheduler.outcomes import Canceled, Failed, RetryLater, Succeeded, TaskOutcome
from batchrun.spec import TaskSpec

TERMINAL_FAILURES = tuple(sorted(str(s) for s in TERMINAL_STATUSES if s != "completed"))


def final_status(run: RunResponse, *, timed_out: bool) -> str:
    """The status recorded for an attempt: a run we canceled for its timeout counts as
    `timed_out`, unless it completed before the cancel landed."""
    status = str(run.status)
    return "timed_out" if timed_out and status != "completed" else status


def failure_reason(
    run: RunResponse, status: str, *, timed_out: bool, timeout: float | None
) -> str | None:
    if timed_out and status == "timed_out":
        limit = f" of {timeout:g}s" if timeout is not None else ""
        return f"exceeded the attempt timeout{limit}; the run was canceled"
    if status == "completed":
        return None
    return run.failure_reason or (f"run {status}" if status in TERMINAL_FAILURES else None)


def judge_attempt(
    task: TaskSpec,
    run: RunResponse,
    status: str,
    *,
    tries: int,
    timed_out: bool,
    now: datetime,
    rng: random.Random,
) -> TaskOutcome:
    """The task's next state after its `tries`-th paid attempt ended with `status`."""
    retry = task.retry
    if status == "completed":
        check = check_output(
            run.output,
            task.output_schema,
            error_code_mapping=task.request_for_attempt(tries).body.get("error_code_mapping"),
        )
        bad = check.verdict in (OutputVerdict.INVALID, OutputVerdict.EMPTY)
        if not (bad and "invalid_output" in retry.on):
            return Succeeded(run.output, str(check.verdict), check.error)
        reason = f"output {check.verdict}" + (f": {check.error}" if check.error else "")
        retryable = True
        end_status = "invalid_output"
    else:
        reason = failure_reason(run, status, timed_out=timed_out, timeout=task.timeout)
        reason = reason or f"run {status}"
        retryable = status in retry.on
        end_status = status
    if retryable and tries < retry.attempts:
        return RetryLater(now + timedelta(seconds=retry.backoff.delay(tries, rng)), reason)
    if retryable and tries >= retry.attempts > 1:
        reason = f"{reason} (after {tries} attempts)"
    if status == "canceled":
        return Canceled(reason)
    return Failed(reason, end_status)
