"""A whole batch driven from Python through the public API only (`import batchrun`)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import yaml

import batchrun

SPEC = {
    "name": "prices",
    "concurrency": 3,
    "poll": {"interval": "0.05s", "max_interval": "0.2s"},
    "retry": {"attempts": 2, "backoff": {"initial": "0.05s", "max": "0.1s"}},
    "tasks": [
        {"id": "kettle", "prompt": "Price", "url": "https://shop.example/kettle"},
        {"id": "lamp", "prompt": "Price", "url": "https://shop.example/flaky/lamp"},
        {"id": "gone", "prompt": "Price", "url": "https://shop.example/blocked/gone"},
    ],
}
SCENARIO = {
    "rules": [
        {"match": {"url": "*/flaky/*"}, "outcomes": ["failed", "completed"], "duration": 0.1},
        {"match": {"url": "*/blocked/*"}, "outcomes": ["terminated"], "duration": 0.1},
        {"match": {"url": "*"}, "duration": 0.1},
    ]
}


def test_plan_apply_status_and_resume_from_python(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    spec = batchrun.load_spec(path)
    assert {item.action for item in batchrun.plan(spec).tasks} == {batchrun.Action.CREATE}

    events: list[batchrun.BatchEvent] = []

    class Recorder:
        def emit(self, event: batchrun.BatchEvent) -> None:
            events.append(event)

    with batchrun.start_simulator(SCENARIO) as sim:
        summary = batchrun.apply(
            spec, api_url=sim.base_url, api_key=sim.api_key, run_key="r1", events=Recorder()
        )
        ended = [e.task for e in events if e.kind == batchrun.EventKind.TASK_SUCCEEDED]
        assert sorted(ended) == ["kettle", "lamp"]
        assert (summary.succeeded, summary.failed, summary.runs, summary.retries) == (2, 1, 4, 1)
        assert summary.results_dir == tmp_path / "results" / "prices" / "r1"
        assert (summary.results_dir / "outputs.jsonl").is_file()
        [failure] = summary.failed_tasks
        assert (failure.task_id, failure.end_status) == ("gone", "terminated")

        # The same instance again changes nothing; from an event loop, awaitable.
        async def again() -> batchrun.BatchSummary:
            return await batchrun.apply_async(spec, api_url=sim.base_url, api_key=sim.api_key)

        assert anyio.run(again).runs == 4
        assert sim.stats()["runs_created"] == 4
        # Given the spec's path, an instance that has ended is summed up from the state
        # without loading the spec (its `batch_started` event says so).
        events.clear()
        from_path = batchrun.apply(
            path, api_url=sim.base_url, api_key=sim.api_key, run_key="r1", events=Recorder()
        )
        assert (from_path.succeeded, from_path.failed, from_path.runs) == (2, 1, 4)
        [started] = [e for e in events if e.kind == batchrun.EventKind.BATCH_STARTED]
        assert started.data["spec_loaded"] is False
        retried = batchrun.plan(spec, retry_failed=True)
        assert {i.task_id for i in retried.tasks if i.action == batchrun.Action.RETRY} == {"gone"}

    assert batchrun.status(spec).finished


def test_errors_are_batchrun_errors_with_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    with pytest.raises(batchrun.ApiUnavailableError) as refused:
        batchrun.apply(path, api_url="http://127.0.0.1:9", api_key="k")
    assert refused.value.exit_code == batchrun.ExitCode.API_UNAVAILABLE
    path.write_text("name: prices\ntasks: []\n")
    with pytest.raises(batchrun.SpecError):
        batchrun.load_spec(path)
