"""Regression tests for what the real Skyvern server (1.0.56, run by skyvern-local.sh) did
differently from the simulator, each fixed in the simulator to match (issue 8)."""

from __future__ import annotations

import time

from sim_helpers import api_client, wait_for

TASK = {"prompt": "open the page", "url": "https://shop.test/item"}
V2_TASK = {**TASK, "engine": "skyvern-2.0"}


def test_creation_answers_have_no_steps_nor_errors_yet(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.05}]})
    with api_client(sim) as client:
        for body in (TASK, V2_TASK):
            created = client.post("/v1/run/tasks", json=body).json()
            assert (created["step_count"], created["errors"]) == (None, None)
            done = wait_for(client, created["run_id"])
            assert isinstance(done["step_count"], int) and done["errors"] == []


def test_a_v2_run_is_queued_and_a_v1_run_created_when_submitted(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 5}]})
    with api_client(sim) as client:
        v1 = client.post("/v1/run/tasks", json=TASK).json()
        v2 = client.post("/v1/run/tasks", json=V2_TASK).json()
    assert (v1["status"], v2["status"]) == ("created", "queued")


def test_a_task_runs_first_app_link_is_under_runs_and_reads_give_tasks(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 5}]})
    with api_client(sim) as client:
        created = client.post("/v1/run/tasks", json=TASK).json()
        run_id = created["run_id"]
        read = client.get(f"/v1/runs/{run_id}").json()
    assert created["app_url"] == f"http://localhost:8080/runs/{run_id}"
    assert read["app_url"] == f"http://localhost:8080/tasks/{run_id}"


def test_listed_runs_name_no_trigger_type_and_v2_runs_no_workflow(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.05}]})
    with api_client(sim) as client:
        v2 = client.post("/v1/run/tasks", json={**V2_TASK, "title": "ours"}).json()
        v1 = client.post("/v1/run/tasks", json={**TASK, "title": "ours too"}).json()
        workflow = client.post("/v1/run/agents", json={"workflow_id": "wpid_7"}).json()
        listed = {item["run_id"]: item for item in client.get("/v1/runs").json()}
    assert {item["trigger_type"] for item in listed.values()} == {None}
    assert listed[v2["run_id"]]["workflow_permanent_id"] is None
    assert listed[v2["run_id"]]["title"] != "ours"  # skyvern-2.0 lists its own title
    assert listed[v1["run_id"]]["title"] == "ours too"
    assert listed[workflow["run_id"]]["workflow_permanent_id"] == "wpid_7"


def test_timeline_entries_name_their_attempt_and_v2_blocks_open_the_url_first(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.05, "steps": 4}]})
    with api_client(sim) as client:
        run = client.post("/v1/run/tasks", json=V2_TASK).json()
        wait_for(client, run["run_id"])
        timeline = client.get(f"/v1/runs/{run['run_id']}/timeline").json()
    assert {entry["attempt"] for entry in timeline} == {1}
    oldest_first = [e["block"]["block_type"] for e in reversed(timeline) if e["type"] == "block"]
    assert oldest_first == ["goto_url", "extraction"]


def test_a_v1_runs_final_screenshot_is_listed_after_the_run_reads_final(simulator):
    sim = simulator({"final_screenshot_lag": 0.6, "rules": [{"match": {}, "duration": 0.05}]})
    with api_client(sim) as client:
        v1 = client.post("/v1/run/tasks", json=TASK).json()
        v2 = client.post("/v1/run/tasks", json=V2_TASK).json()
        wait_for(client, v1["run_id"])
        v2_done = wait_for(client, v2["run_id"])
        v2_owner = v2_done["app_url"].rsplit("/", 1)[-1]

        def types(owner: str) -> list[str]:
            listed = client.get(f"/v1/runs/{owner}/artifacts").json()
            return [artifact["artifact_type"] for artifact in listed]

        assert "screenshot_final" not in types(v1["run_id"])
        assert "screenshot_final" in types(v2_owner)  # skyvern-2.0 has it before it ends
        time.sleep(0.7)
        assert "screenshot_final" in types(v1["run_id"])
