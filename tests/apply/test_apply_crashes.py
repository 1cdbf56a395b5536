"""Crash safety: `apply` SIGKILLed at random moments, then run again, never pays twice."""

from __future__ import annotations

import random
import time
from collections import Counter

from batchrun.ops.apply import sync_with_spec
from batchrun.state import open_store

from .conftest import Workspace

SITE = "https://shop.example"
KILLS = 20


def test_sigkill_at_random_moments_then_resume_never_pays_twice(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {
                    "match": {"url": "*/flaky/*"},
                    "outcomes": ["failed", "completed"],
                    "duration": 0.4,
                    "failure_reason": "Page did not load",
                },
                {"match": {"url": "*"}, "duration": 0.3},
            ],
            # some create answers are lost too, before or after the run exists
            "faults": {"drop": 0.15, "drop_after_create": 0.5, "endpoints": ["create"]},
        }
    )
    tasks = [
        {
            "id": f"t{i:02d}",
            "prompt": f"Price of item {i}",
            "url": f"{SITE}/{'flaky' if i % 3 == 0 else 'item'}/{i}",
        }
        for i in range(36)
    ]
    spec = workspace.spec(tasks, concurrency=4)
    rng = random.Random(20261130)

    for _ in range(KILLS):
        proc = workspace.apply_process(spec, sim)
        time.sleep(rng.uniform(0.4, 1.6))
        proc.kill()
        proc.communicate(timeout=30)
    assert workspace.apply_until_done(spec, sim, tries=5) == 0

    outputs = {line["task"]: line for line in workspace.outputs()}
    assert len(outputs) == len(tasks)
    assert all(line["status"] == "succeeded" and line["output"] for line in outputs.values())

    created = Counter(run["task_key"] for run in sim.stats()["runs"].values())
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    for task in tasks:
        key = f"{task['url']} | {task['prompt']}"
        attempts = store.attempts_for_task(batch.id, task["id"])
        failed = sum(1 for attempt in attempts if attempt.status == "failed")
        assert created[key] <= failed + 1, (task["id"], created[key], attempts)
        # every run the server created is known to the state: none was orphaned and paid for
        assert created[key] == len({a.run_id for a in attempts if a.run_id}), task["id"]


def test_an_attempt_left_unanswered_by_a_crash_is_submitted_exactly_once(
    simulator, workspace: Workspace
):
    """A process died after recording an attempt's key but before its create went out."""
    import sqlite3

    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec([{"id": "t1", "prompt": "Price", "url": f"{SITE}/item/1"}])
    store = open_store(workspace.state)
    batch = store.create_batch("batch", "r1", str(spec))
    from batchrun.spec import load_spec

    sync_with_spec(store, batch.id, load_spec(spec).tasks)
    store.begin_attempt(
        batch.id,
        "t1",
        attempt_key="br-neversent0001",
        kind="task",
        request={"prompt": "Price", "url": f"{SITE}/item/1", "engine": "skyvern-2.0"},
        reserved_steps=10,
    )
    store.close()
    with sqlite3.connect(workspace.state) as conn:  # the crash happened a while ago
        conn.execute("UPDATE attempts SET prepared_at = '2026-01-01T00:00:00+00:00'")

    result = workspace.apply(spec, sim, "--run", "r1")
    assert result.exit_code == 0, result.output
    assert sim.stats()["runs_created"] == 1
    phases = [a.phase for a in open_store(workspace.state).attempts_for_task(batch.id, "t1")]
    assert phases == ["not_created", "finished"]


def test_a_run_the_server_forgot_counts_as_a_failed_attempt(simulator, workspace: Workspace):
    rules = [{"match": {"url": "*"}, "duration": 30}]
    sim = simulator({"rules": rules})
    spec = workspace.spec(
        [{"id": f"t{i}", "prompt": "Price", "url": f"{SITE}/item/{i}"} for i in range(2)]
    )
    proc = workspace.apply_process(spec, sim)
    deadline = time.monotonic() + 30
    while len(workspace.known_runs()) < 2:  # both runs created and known to the state
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=30)
    sim.reset()  # the server loses every run
    sim.set_scenario({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})

    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    first, second = store.attempts_for_task(batch.id, "t0")
    assert first.status == "failed" and "no longer knows" in (first.failure_reason or "")
    assert second.status == "completed"


def test_a_run_found_after_a_crash_counts_once_toward_the_retry_limit(
    simulator, workspace: Workspace
):
    """The crash came after the create went out and before its answer was recorded."""
    import sqlite3

    import httpx

    sim = simulator(
        {"rules": [{"match": {"url": "*"}, "outcomes": ["failed", "completed"], "duration": 0.05}]}
    )
    task = {"id": "t1", "prompt": "Price", "url": f"{SITE}/item/1", "engine": "skyvern-1.0"}
    spec = workspace.spec([task], retry={"attempts": 2, "backoff": {"initial": 0.01}})
    key = "br-crashedbefore1"
    sent = {**{k: v for k, v in task.items() if k != "id"}, "title": f"t1 [{key}]"}
    store = open_store(workspace.state)
    batch = store.create_batch("batch", "r1", str(spec))
    from batchrun.spec import load_spec

    sync_with_spec(store, batch.id, load_spec(spec).tasks)
    store.begin_attempt(
        batch.id, "t1", attempt_key=key, kind="task", request=sent, reserved_steps=10
    )
    store.close()
    with sqlite3.connect(workspace.state) as conn:
        conn.execute("UPDATE attempts SET prepared_at = '2026-01-01T00:00:00+00:00'")
    httpx.post(  # the create request that went out just before the crash
        f"{sim.base_url}/v1/run/tasks", json=sent, headers={"x-api-key": sim.api_key}
    ).raise_for_status()

    result = workspace.apply(spec, sim, "--run", "r1")
    assert result.exit_code == 0, result.output  # the found run failed; one retry was left
    [line] = workspace.outputs()
    assert (line["status"], line["attempts"]) == ("succeeded", 2)
    assert sim.stats()["runs_created"] == 2


def test_sigkill_while_a_group_of_keys_is_being_written_pays_for_no_run_twice(
    simulator, workspace: Workspace, monkeypatch
):
    """Keys of attempts that begin together share one sync; kill `apply` inside that window
    (widened to 150 ms so that the kills land in it) and the server is the referee: every run
    it created is known to the state, and none was created twice."""
    monkeypatch.setenv("BATCHRUN_GROUP_SYNC_WINDOW_S", "0.15")
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.2}]})
    tasks = [
        {"id": f"g{i:02d}", "prompt": f"Price of item {i}", "url": f"{SITE}/item/{i}"}
        for i in range(60)
    ]
    spec = workspace.spec(tasks, concurrency=20)
    rng = random.Random(20261204)

    for _ in range(8):
        before = sim.stats()["runs_created"]
        proc = workspace.apply_process(spec, sim)
        deadline = time.monotonic() + 30
        # Submitting: some group of keys has been synced and its creates sent; the next
        # groups are being written while freed slots submit again.
        while sim.stats()["runs_created"] == before and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.communicate(timeout=30)
    assert workspace.apply_until_done(spec, sim, tries=3) == 0

    outputs = {line["task"]: line for line in workspace.outputs()}
    assert {task["id"] for task in tasks} == set(outputs)
    assert all(line["status"] == "succeeded" for line in outputs.values())
    stats = sim.stats()
    created = Counter(run["task_key"] for run in stats["runs"].values())
    assert stats["runs_created"] == len(tasks)  # no run paid twice
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    known = {a.run_id for t in tasks for a in store.attempts_for_task(batch.id, t["id"])}
    assert set(stats["runs"]) <= known  # every run on the server is known to the state
    assert all(count == 1 for count in created.values())


def test_leftovers_of_a_killed_apply_are_removed_and_a_clean_one_leaves_no_mark(
    simulator, workspace: Workspace
):
    """The results directory is walked for temp files only after an `apply` that did not end
    cleanly (it leaves a mark while writing): a finished batch applied again skips the walk."""
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec([{"id": "t1", "prompt": "Price", "url": f"{SITE}/item/1"}])
    assert workspace.apply(spec, sim).exit_code == 0
    [run_dir] = (workspace.results / "batch").iterdir()
    assert not (run_dir / ".apply-writing").exists()

    # What a SIGKILL in the middle of writing leaves: the mark and a temp file.
    (run_dir / ".apply-writing").touch()
    leftover = run_dir / "tasks" / "t1" / ".output.json.tmp-0123456789ab"
    leftover.write_text("{")
    assert workspace.apply(spec, sim).exit_code == 0
    assert not leftover.exists()
    assert not (run_dir / ".apply-writing").exists()
