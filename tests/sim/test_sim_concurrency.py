"""Account concurrency: at most N runs started and not done; the rest queue, first in first out."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import httpx
import pytest
from sim_helpers import api_client, wait_for
from webhook_receiver import WebhookReceiver

from batchrun.errors import UsageError
from batchrun.sim import Scenario
from batchrun.sim.files import LinkSigner
from batchrun.sim.lifecycle import Run
from batchrun.sim.requests import TaskRunRequest
from batchrun.sim.skyvern import SimulatedSkyvern
from batchrun.sim.store import RunStore

STARTED = {"running", "paused"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def engine_with_limit(
    limit: int | None, clock: FakeClock, store: RunStore | None = None
) -> SimulatedSkyvern:
    # duration 1.0: queued at 0.05 s, starts at 0.15 s, ends at 1.0 s (a slot held 0.85 s).
    scenario = Scenario.from_dict(
        {"account_concurrency": limit, "rules": [{"match": {}, "duration": 1.0}]}
    )
    signer = LinkSigner()
    return SimulatedSkyvern(
        scenario, api_key="k", seed=0, time_scale=1.0, signer=signer, clock=clock, store=store
    )


def statuses(engine: SimulatedSkyvern, runs: list[Run]) -> list[str]:
    return [engine.state(run).status for run in runs]


def started_after(engine: SimulatedSkyvern, run: Run) -> timedelta:
    body = engine.run_response(run)
    return datetime.fromisoformat(body["started_at"]) - datetime.fromisoformat(body["created_at"])


def test_runs_beyond_the_limit_queue_and_start_first_in_first_out():
    clock = FakeClock()
    engine = engine_with_limit(2, clock)
    runs = [engine.create_task(TaskRunRequest(prompt=f"task {i}"), "k") for i in range(5)]
    clock.now += 0.5
    assert statuses(engine, runs) == ["running", "running", "queued", "queued", "queued"]
    clock.now += 0.6  # 1.1 s: the first two ended at 1.0, the next two hold the slots
    assert statuses(engine, runs) == ["completed", "completed", "running", "running", "queued"]
    clock.now += 0.8  # 1.9 s: the third and fourth ended at 1.85, the fifth started then
    assert statuses(engine, runs) == ["completed"] * 4 + ["running"]
    clock.now += 1.0
    assert statuses(engine, runs) == ["completed"] * 5
    waits = [started_after(engine, run) for run in runs]
    # No wait: the rule's own 0.15 s; then one slot's 0.85 s; then two.
    assert waits == [timedelta(seconds=s) for s in (0.15, 0.15, 1.0, 1.0, 1.85)]
    body = engine.run_response(runs[4])
    queued = datetime.fromisoformat(body["queued_at"]) - datetime.fromisoformat(body["created_at"])
    assert queued == timedelta(seconds=0.05)  # queued when it would have been; started late
    assert datetime.fromisoformat(body["finished_at"]) - datetime.fromisoformat(
        body["started_at"]
    ) == timedelta(seconds=0.85)  # the whole rest of its timeline moved with the start


def test_a_cancel_frees_its_slot_for_the_next_queued_run_at_once():
    clock = FakeClock()
    engine = engine_with_limit(2, clock)
    runs = [engine.create_task(TaskRunRequest(prompt=f"task {i}"), "k") for i in range(5)]
    clock.now += 0.5
    engine.cancel(runs[0].run_id)
    assert statuses(engine, runs) == ["canceled", "running", "running", "queued", "queued"]
    assert started_after(engine, runs[2]) == timedelta(seconds=0.5)
    engine.cancel(runs[3].run_id)  # canceled while queued: it never takes a slot
    clock.now += 0.6  # 1.1 s: the second ended at 1.0 and the fifth took its slot
    assert statuses(engine, runs) == ["canceled", "completed", "running", "canceled", "running"]
    assert started_after(engine, runs[4]) == timedelta(seconds=1.0)


def test_without_a_limit_no_run_waits():
    clock = FakeClock()
    engine = engine_with_limit(None, clock)
    runs = [engine.create_task(TaskRunRequest(prompt=f"task {i}"), "k") for i in range(5)]
    clock.now += 0.5
    assert statuses(engine, runs) == ["running"] * 5


def test_over_http_no_read_ever_shows_more_than_the_limit_started(simulator):
    sim = simulator({"account_concurrency": 2, "rules": [{"match": {}, "duration": 0.4}]})
    snapshots: list[list[str]] = []
    with api_client(sim) as client:
        ids = [
            client.post("/v1/run/tasks", json={"prompt": f"task {i}"}).json()["run_id"]
            for i in range(5)
        ]
        deadline = time.monotonic() + 20
        while True:
            listed = {item["run_id"]: item["status"] for item in client.get("/v1/runs").json()}
            snapshots.append([listed[run_id] for run_id in ids])
            if all(status == "completed" for status in snapshots[-1]):
                break
            assert time.monotonic() < deadline, snapshots[-1]
        finished = [wait_for(client, run_id) for run_id in ids]
    assert all(sum(s in STARTED for s in snap) <= 2 for snap in snapshots)
    starts = [datetime.fromisoformat(run["started_at"]) for run in finished]
    assert starts == sorted(starts)  # first in, first out
    waited = [
        datetime.fromisoformat(run["started_at"]) - datetime.fromisoformat(run["created_at"])
        for run in finished
    ]
    # The fifth waited for two runs ahead of it to hold a slot (0.34 s each) at least once.
    assert waited[4] >= timedelta(seconds=0.06 + 0.34)
    assert waited[0] == timedelta(seconds=0.06)  # the first never waited: only its own phases


def test_the_limit_is_validated_in_files_and_over_http(simulator):
    with pytest.raises(UsageError, match="account_concurrency"):
        Scenario.from_dict({"account_concurrency": 0})
    sim = simulator()
    with httpx.Client(base_url=sim.base_url) as admin:
        bad = admin.post("/_sim/scenario", json={"account_concurrency": "two"})
        assert bad.status_code == 400 and "account_concurrency" in bad.json()["detail"]
        assert admin.post("/_sim/scenario", json={"account_concurrency": 3}).status_code == 200


def test_a_run_pushed_back_by_a_lower_limit_still_sends_its_webhook(simulator):
    # Runs wait 0.5 s queued by their rule, so the limit drops before any has started.
    rule = {"match": {}, "duration": 0.4, "queued": 0.5}
    sim = simulator({"account_concurrency": 3, "rules": [rule]})
    with api_client(sim) as client, WebhookReceiver() as receiver:
        ids = [
            client.post(
                "/v1/run/tasks", json={"prompt": f"task {i}", "webhook_url": receiver.url}
            ).json()["run_id"]
            for i in range(3)
        ]
        sim.set_scenario({"account_concurrency": 1, "rules": [rule]})
        hooks = receiver.wait_for(3)
    payloads = [json.loads(hook["body"]) for hook in hooks]
    assert [p["run_id"] for p in payloads] == ids  # one slot now: they end in creation order
    assert all(p["status"] == "completed" for p in payloads)


def test_the_wait_survives_a_restart_on_a_store(simulator, tmp_path):
    scenario = {"account_concurrency": 1, "rules": [{"match": {}, "duration": 1.0}]}
    first = simulator(scenario, store_path=tmp_path / "sim.db")
    with api_client(first) as client:
        ids = [
            client.post("/v1/run/tasks", json={"prompt": f"task {i}"}).json()["run_id"]
            for i in range(2)
        ]
    first.stop()
    second = simulator(scenario, store_path=tmp_path / "sim.db")
    with api_client(second) as client:
        finished = [wait_for(client, run_id) for run_id in ids]
    first_run, second_run = finished
    assert datetime.fromisoformat(first_run["started_at"]) - datetime.fromisoformat(
        first_run["created_at"]
    ) == timedelta(seconds=0.15)
    # The second started when the first gave its slot back (the two stamps come from the
    # wall and monotonic clocks read microseconds apart, hence the millisecond of slack).
    handover = datetime.fromisoformat(second_run["started_at"]) - datetime.fromisoformat(
        first_run["finished_at"]
    )
    assert abs(handover) <= timedelta(milliseconds=1)


def test_a_store_loaded_without_a_limit_lets_its_queued_runs_start(tmp_path):
    clock = FakeClock()
    store = RunStore.open(tmp_path / "sim.db")
    limited = engine_with_limit(1, clock, store)
    runs = [limited.create_task(TaskRunRequest(prompt=f"task {i}"), "k") for i in range(2)]
    store.close()
    assert runs[1].slot_wait == pytest.approx(0.85)  # stored while waiting for the one slot
    store = RunStore.open(tmp_path / "sim.db")
    try:
        unlimited = engine_with_limit(None, clock, store)
    finally:
        store.close()
    loaded = unlimited.find(runs[1].run_id)
    assert loaded is not None and loaded.slot_wait == 0.0
    clock.now += 0.5
    assert statuses(unlimited, unlimited.runs) == ["running", "running"]
