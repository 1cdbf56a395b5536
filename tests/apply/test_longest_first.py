"""Longest first, from history: a second instance of a spec starts the tasks the first one
saw take longest first, and says what wall time that order should take."""

from __future__ import annotations

import json

from batchrun.state import open_store

from .conftest import Workspace

# Far enough apart that polling (every 0.05 s, backing off to 0.1 s) or a busy machine
# cannot blur them.
DURATIONS = {"a": 0.05, "b": 0.9, "c": 0.3, "d": 0.6}


def _submission_order(workspace: Workspace, run_key: str | None = None) -> list[str]:
    store = open_store(workspace.state)
    batch = store.find_batch("batch", run_key)
    assert batch is not None
    return [event["task"] for event in store.events(batch.id, kind="task_submitted")]


def _summary(workspace: Workspace) -> dict:
    newest = max((workspace.results / "batch").iterdir(), key=lambda path: path.stat().st_mtime)
    return json.loads((newest / "summary.json").read_text())


def test_a_second_instance_starts_the_longest_tasks_first(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": f"https://shop.example/{task}"}, "duration": duration}
                for task, duration in DURATIONS.items()
            ]
        }
    )
    tasks = [
        {"id": task, "prompt": "Price", "url": f"https://shop.example/{task}"} for task in DURATIONS
    ]
    # One slot: the order runs start in is the order they were taken in.
    spec = workspace.spec(tasks, concurrency=1, poll={"interval": "0.05s", "max_interval": "0.1s"})

    assert workspace.apply(spec, sim, "--run", "first").exit_code == 0
    assert _submission_order(workspace, "first") == ["a", "b", "c", "d"]  # no history yet
    assert _summary(workspace)["expected_wall_time_s"] is None

    assert workspace.apply(spec, sim, "--run", "second").exit_code == 0
    assert _submission_order(workspace, "second") == ["b", "d", "c", "a"]
    summary = _summary(workspace)
    # One slot: the expected wall time is the sum of the durations seen, plus the polling.
    assert sum(DURATIONS.values()) <= summary["expected_wall_time_s"]
    assert summary["wall_time_s"] > 0

    assert workspace.apply(spec, sim, "--run", "third", "--order", "spec").exit_code == 0
    assert _submission_order(workspace, "third") == ["a", "b", "c", "d"]
