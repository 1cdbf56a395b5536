"""What a finished run means for its task, decided from the retry policy alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from batchrun.client import RunResponse
from batchrun.scheduler.outcomes import Canceled, Failed, RetryLater, Succeeded
from batchrun.scheduler.verdict import final_status, judge_attempt
from batchrun.spec import TaskSpec, load_spec

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _task(tmp_path: Path, **retry: object) -> TaskSpec:
    spec = {
        "name": "t",
        "retry": {"attempts": 3, "backoff": {"initial": "10s", "jitter": 0}, **retry},
        "tasks": [
            {
                "id": "a",
                "prompt": "Price",
                "url": "https://shop.example/a",
                "data_extraction_schema": {
                    "type": "object",
                    "properties": {"price": {"type": "number"}},
                    "required": ["price"],
                },
            }
        ],
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(spec))
    return load_spec(path).tasks[0]


def _run(status: str, output: object = None, reason: str | None = None) -> RunResponse:
    return RunResponse(
        run_id="tsk_1", run_type="task_v2", status=status, output=output, failure_reason=reason
    )


def _judge(task: TaskSpec, run: RunResponse, *, tries: int, timed_out: bool = False):
    status = final_status(run, timed_out=timed_out)
    return judge_attempt(
        task, run, status, tries=tries, timed_out=timed_out, now=NOW, rng=random.Random(0)
    )


def test_a_valid_output_succeeds(tmp_path: Path) -> None:
    outcome = _judge(_task(tmp_path), _run("completed", {"price": 3.5}), tries=1)
    assert outcome == Succeeded({"price": 3.5}, "valid", None)


def test_a_failure_is_retried_after_the_backoff_until_attempts_run_out(tmp_path: Path) -> None:
    task = _task(tmp_path)
    first = _judge(task, _run("failed", reason="Proxy error"), tries=1)
    assert first == RetryLater(NOW.replace(second=10), "Proxy error")
    last = _judge(task, _run("failed", reason="Proxy error"), tries=3)
    assert last == Failed("Proxy error (after 3 attempts)", "failed")


@pytest.mark.parametrize("status", ["terminated", "timed_out"])
def test_statuses_not_in_the_policy_are_final(tmp_path: Path, status: str) -> None:
    assert isinstance(_judge(_task(tmp_path), _run(status), tries=1), Failed)


def test_a_run_canceled_for_its_timeout_counts_as_timed_out(tmp_path: Path) -> None:
    task = _task(tmp_path, on=["failed", "timed_out"])
    outcome = _judge(task, _run("canceled"), tries=1, timed_out=True)
    assert isinstance(outcome, RetryLater)
    # ... unless it completed before the cancel landed
    done = _judge(task, _run("completed", {"price": 1}), tries=1, timed_out=True)
    assert isinstance(done, Succeeded)


def test_a_canceled_run_not_retried_leaves_the_task_canceled(tmp_path: Path) -> None:
    assert isinstance(_judge(_task(tmp_path), _run("canceled"), tries=1), Canceled)


def test_invalid_or_empty_output_is_kept_or_retried_as_the_policy_says(tmp_path: Path) -> None:
    kept = _judge(_task(tmp_path), _run("completed", {"price": "n/a"}), tries=1)
    assert isinstance(kept, Succeeded) and kept.output_verdict == "invalid"
    strict = _task(tmp_path, on=["failed", "invalid_output"])
    retried = _judge(strict, _run("completed", None), tries=1)
    assert isinstance(retried, RetryLater) and retried.reason.startswith("output empty")
    assert isinstance(_judge(strict, _run("completed", {"price": "n/a"}), tries=3), Failed)
