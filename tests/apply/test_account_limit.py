"""An account that runs fewer at once than the batch asks for: batchrun holds its runs in
flight near what the account runs, and queued time never counts against a timeout."""

from __future__ import annotations

from datetime import datetime

from batchrun.state import open_store

from .conftest import Workspace

TASKS = 14
DURATION = 0.4
ACCOUNT = 2
MARGIN = 2


def _open_at_submissions_after(intervals: list[tuple[datetime, datetime]], start: datetime) -> int:
    """The most attempts open (by our clock) when one was submitted after `start`: runs
    already in flight are never canceled to meet a limit, but no new one may exceed it."""
    submitted = [a for a, _ in intervals if a > start]
    assert submitted, "nothing was submitted after the limit was noticed"
    return max(sum(1 for a, b in intervals if a <= moment < b) for moment in submitted)


def test_an_account_limit_is_held_to_and_queued_time_is_not_timed(simulator, workspace: Workspace):
    sim = simulator(
        {
            "account_concurrency": ACCOUNT,
            "rules": [{"match": {"url": "*"}, "duration": DURATION}],
        }
    )
    tasks = [
        {"id": f"t{i}", "prompt": "Price", "url": f"https://shop.example/{i}"} for i in range(TASKS)
    ]
    # The whole queue wait (about TASKS / ACCOUNT x DURATION) is far beyond the timeout.
    spec = workspace.spec(tasks, concurrency=8, timeout=f"{DURATION * 2.5:g}s")
    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output

    stats = sim.stats()
    assert stats["runs_created"] == TASKS
    assert stats["requests_by_route"].get("cancel", 0) == 0

    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    events = store.events(batch.id)
    kinds = [event["kind"] for event in events]
    assert "retry_scheduled" not in kinds and "task_canceled" not in kinds
    holds = [e for e in events if "the account runs at most" in (e["message"] or "")]
    held = holds[0]
    assert held["data"]["in_flight_limit"] <= ACCOUNT + MARGIN
    succeeded = [e for e in events if e["kind"] == "task_succeeded"]
    assert len(succeeded) == TASKS and max(e["data"]["queued_s"] for e in succeeded) > DURATION

    detected = datetime.fromisoformat(held["ts"].replace("Z", "+00:00"))
    intervals = []
    for task in tasks:
        for attempt in store.attempts_for_task(batch.id, task["id"]):
            assert attempt.finished_at is not None
            intervals.append((attempt.prepared_at, attempt.finished_at))
    assert _open_at_submissions_after(intervals, detected) <= ACCOUNT + MARGIN


def test_without_an_account_limit_nothing_is_held(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": DURATION}]})
    tasks = [
        {"id": f"t{i}", "prompt": "Price", "url": f"https://shop.example/{i}"} for i in range(TASKS)
    ]
    spec = workspace.spec(tasks, concurrency=8)
    assert workspace.apply(spec, sim).exit_code == 0
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    messages = [event["message"] or "" for event in store.events(batch.id, kind="warning")]
    assert not any("the account runs at most" in message for message in messages)
