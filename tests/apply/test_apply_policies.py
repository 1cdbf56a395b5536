"""Retry escalation, output validation and per-host limits, end to end against the simulator."""

from __future__ import annotations

import itertools

from batchrun.state import open_store

from .conftest import Workspace

SCHEMA = {
    "type": "object",
    "properties": {"price": {"type": "number"}},
    "required": ["price"],
}


def _attempt_requests(workspace: Workspace, task_id: str) -> list[dict]:
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    return [a.request for a in store.attempts_for_task(batch.id, task_id)]


def test_escalation_overrides_apply_from_their_attempt_on(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {
                    "match": {"url": "*"},
                    "outcomes": ["failed", "failed", "completed"],
                    "duration": 0.05,
                }
            ]
        }
    )
    spec = workspace.spec(
        [{"id": "t", "prompt": "Price", "url": "https://shop.example/x", "max_steps": 10}],
        retry={
            "attempts": 3,
            "backoff": {"initial": 0.01},
            "escalate": [{"attempt": 2, "max_steps": 25}, {"attempt": 3, "engine": "skyvern-1.0"}],
        },
    )
    assert workspace.apply(spec, sim).exit_code == 0
    sent = _attempt_requests(workspace, "t")
    assert [r["max_steps"] for r in sent] == [10, 25, 25]
    assert [r["engine"] for r in sent] == ["skyvern-2.0", "skyvern-2.0", "skyvern-1.0"]
    # skyvern-1.0 keeps titles, so its attempt carries the lookup key there
    assert sent[2]["title"].endswith("]") and "[br-" in sent[2]["title"]


def test_invalid_output_is_retried_when_the_policy_says_so(simulator, workspace: Workspace):
    sim = simulator(
        {"rules": [{"match": {"url": "*"}, "duration": 0.05, "output": {"price": "n/a"}}]}
    )
    task = {
        "id": "t",
        "prompt": "Price",
        "url": "https://shop.example/x",
        "data_extraction_schema": SCHEMA,
    }
    spec = workspace.spec(
        [task],
        retry={"attempts": 2, "on": ["failed", "invalid_output"], "backoff": {"initial": 0.01}},
    )
    assert workspace.apply(spec, sim).exit_code == 1
    [line] = workspace.outputs()
    assert line["status"] == "failed" and line["attempts"] == 2
    assert "output invalid" in line["failure_reason"]
    assert sim.stats()["runs_created"] == 2


def test_invalid_output_is_kept_and_flagged_by_default(simulator, workspace: Workspace):
    sim = simulator(
        {"rules": [{"match": {"url": "*"}, "duration": 0.05, "output": {"price": "n/a"}}]}
    )
    task = {
        "id": "t",
        "prompt": "Price",
        "url": "https://shop.example/x",
        "data_extraction_schema": SCHEMA,
    }
    assert workspace.apply(workspace.spec([task]), sim).exit_code == 0
    [line] = workspace.outputs()
    assert line["status"] == "succeeded" and line["output_verdict"] == "invalid"
    assert "price" in line["validation_error"]
    [flagged] = workspace.status(workspace.root / "batch.yaml")["tasks"]
    assert flagged["output_verdict"] == "invalid"


def test_per_host_limit_keeps_one_site_from_being_flooded(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.15}]})
    tasks = [
        {"id": f"{host}-{i}", "prompt": f"Item {i}", "url": f"https://{host}.example/{i}"}
        for host in ("small", "big")
        for i in range(4)
    ]
    spec = workspace.spec(tasks, concurrency=4, per_host_concurrency=1)
    assert workspace.apply(spec, sim).exit_code == 0
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    for host in ("small", "big"):
        spans = sorted(
            (a.prepared_at, a.finished_at)
            for i in range(4)
            for a in store.attempts_for_task(batch.id, f"{host}-{i}")
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two runs on {host} overlapped"


def test_artifacts_that_appear_after_the_run_ends_are_still_exported(
    simulator, workspace: Workspace
):
    # As on a real server: the final screenshot is listed a moment after the run reads
    # final, and the recording's content answers 404 until it is finalised.
    sim = simulator(
        {
            "rules": [{"match": {"url": "*"}, "duration": 0.1}],
            "final_screenshot_lag": 0.6,
            "recording_ready_lag": 1.5,
        }
    )
    spec = workspace.spec(
        [{"id": "t", "prompt": "Price", "url": "https://shop.example/x", "engine": "skyvern-1.0"}],
        export={"screenshots": True, "recording": True},
    )
    assert workspace.apply(spec, sim).exit_code == 0
    [run_dir] = (workspace.results / "batch").iterdir()
    saved = sorted(p.name for p in (run_dir / "tasks" / "t" / "artifacts").iterdir())
    assert [name.split("-")[0] for name in saved] == ["recording", "screenshot_final"]
    [line] = workspace.outputs()
    assert line["file_errors"] == []


def test_a_recording_not_ready_yet_is_fetched_once_it_is(simulator, workspace: Workspace):
    sim = simulator(
        {"rules": [{"match": {"url": "*"}, "duration": 0.1}], "recording_ready_lag": 1.0}
    )
    spec = workspace.spec(
        [{"id": "t", "prompt": "Price", "url": "https://shop.example/x"}],
        export={"recording": True},
    )
    assert workspace.apply(spec, sim).exit_code == 0
    [line] = workspace.outputs()
    assert line["file_errors"] == []
    [run_dir] = (workspace.results / "batch").iterdir()
    assert [p.name for p in (run_dir / "tasks" / "t" / "artifacts").iterdir()] == [
        "recording-1.webm"
    ]
