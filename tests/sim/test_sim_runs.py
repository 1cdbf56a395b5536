"""Run lifecycle, listing, cancel, auth and validation, as docs/skyvern-api.md states them."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
from sim_helpers import api_client, wait_for

TASK = {"prompt": "find the price", "url": "https://shop.test/item"}


def test_a_run_moves_through_the_real_statuses_with_growing_steps(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.6, "steps": 6, "pause": 0.3}]})
    seen: list[str] = []
    steps: list[int] = []
    with api_client(sim) as client:
        run = client.post("/v1/run/tasks", json=TASK).json()
        assert run["status"] == "created"
        assert run["queued_at"] is None and run["started_at"] is None
        while True:
            body = client.get(f"/v1/runs/{run['run_id']}").json()
            if not seen or seen[-1] != body["status"]:
                seen.append(body["status"])
            steps.append(body["step_count"])
            if body["status"] == "completed":
                break
            time.sleep(0.005)
    assert seen[-1] == "completed"
    assert "running" in seen and "paused" in seen
    assert seen.index("running") < seen.index("paused") < len(seen) - 1
    assert steps == sorted(steps) and steps[-1] == 6
    assert body["queued_at"] <= body["started_at"] <= body["finished_at"]


def test_run_ids_timestamps_and_run_types_follow_the_engine(simulator):
    sim = simulator()
    with api_client(sim) as client:
        ids = {
            engine: client.post("/v1/run/tasks", json={**TASK, "engine": engine}).json()
            for engine in ("skyvern-1.0", "skyvern-2.0", "skyvern-3.0", "anthropic-cua")
        }
        default = client.post("/v1/run/tasks", json=TASK).json()
        workflow = client.post("/v1/run/agents", json={"workflow_id": "wpid_9"}).json()
        alias = client.post("/v1/run/workflows/", json={"agent_id": "wpid_9"}).json()
    assert re.fullmatch(r"tsk_\d+", ids["skyvern-1.0"]["run_id"])
    assert re.fullmatch(r"tsk_v2_\d+", ids["skyvern-2.0"]["run_id"])
    assert re.fullmatch(r"wr_\d+", workflow["run_id"]) and alias["run_type"] == "workflow_run"
    assert [ids[e]["run_type"] for e in ids] == ["task_v1", "task_v2", "task_v3", "anthropic_cua"]
    assert default["run_type"] == "task_v1" and default["run_request"]["engine"] == "skyvern-1.0"
    assert re.fullmatch(r".*/runs/wr_\d+", ids["skyvern-2.0"]["app_url"])
    # A real server's POST links a task run under /runs/ (reads give /tasks/, see
    # test_sim_real_fidelity.py).
    assert ids["skyvern-1.0"]["app_url"].endswith(f"/runs/{ids['skyvern-1.0']['run_id']}")
    created = datetime.fromisoformat(default["created_at"])
    assert created.tzinfo is None  # naive UTC, no offset, like the real server


def test_a_v2_runs_wr_id_resolves_to_the_same_run(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.05}]})
    with api_client(sim) as client:
        run = client.post("/v1/run/tasks", json={**TASK, "engine": "skyvern-2.0"}).json()
        wr_id = run["app_url"].rsplit("/", 1)[1]
        assert client.get(f"/v1/runs/{wr_id}").json()["run_id"] == run["run_id"]
        wait_for(client, run["run_id"])
        # Artifacts are filed under the workflow run: the tsk_v2_ id finds none
        # (docs/skyvern-api.md §18).
        assert client.get(f"/v1/runs/{run['run_id']}/artifacts").json() == []
        assert client.get(f"/v1/runs/{wr_id}/artifacts").json() != []


def test_outcomes_follow_creations_of_the_same_task_and_the_last_repeats(simulator):
    scenario = {
        "rules": [
            {
                "match": {"url": "*/flaky/*"},
                "outcomes": ["failed", "timed_out", "completed"],
                "duration": 0,
            }
        ]
    }
    sim = simulator(scenario)
    with api_client(sim) as client:

        def outcome(url: str, prompt: str = "p") -> str:
            run_id = client.post("/v1/run/tasks", json={"prompt": prompt, "url": url}).json()[
                "run_id"
            ]
            return wait_for(client, run_id)["status"]

        first = [outcome("https://x.test/flaky/1#try1") for _ in range(4)]
        other_prompt = outcome("https://x.test/flaky/1", prompt="other")
    assert first == ["failed", "timed_out", "completed", "completed"]
    assert other_prompt == "failed"  # a different prompt is a different task
    assert sim.stats()["creates_by_task"]["https://x.test/flaky/1 | p"] == 4


def test_outputs_follow_the_schema_and_v1_with_url_extracts_nothing(simulator):
    schema = {
        "type": "object",
        "properties": {
            "price": {"type": "number"},
            "in_stock": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "currency": {"enum": ["EUR", "USD"]},
        },
        "required": ["price"],
    }
    sim = simulator({"seed": 5, "rules": [{"match": {}, "duration": 0}]})
    with api_client(sim) as client:

        def finished(**extra: object) -> dict:
            run_id = client.post("/v1/run/tasks", json={**TASK, **extra}).json()["run_id"]
            return wait_for(client, run_id)

        v2 = finished(engine="skyvern-2.0", data_extraction_schema=schema)
        again = finished(engine="skyvern-2.0", data_extraction_schema=schema)
        v1 = finished(engine="skyvern-1.0", data_extraction_schema=schema)
        plain = finished(engine="skyvern-2.0")
    assert set(v2["output"]) == {"price", "in_stock", "tags", "currency"}
    assert isinstance(v2["output"]["price"], float) and v2["output"]["currency"] in {"EUR", "USD"}
    assert again["output"] == v2["output"]  # deterministic for seed + task
    assert v1["output"] is None  # skyvern-1.0 given a url navigates but does not extract
    assert set(plain["output"]) == {"summary"}


def test_scenario_output_failure_reason_and_error_code(simulator):
    sim = simulator(
        {
            "rules": [
                {"match": {"prompt": "ok"}, "duration": 0, "output": {"answer": 42}},
                {
                    "match": {"prompt": "bad"},
                    "duration": 0,
                    "outcomes": ["terminated"],
                    "failure_reason": "Login wall",
                    "error_code": "LOGIN_REQUIRED",
                },
            ]
        }
    )
    with api_client(sim) as client:
        ok = client.post("/v1/run/tasks", json={"prompt": "ok"}).json()["run_id"]
        bad = client.post("/v1/run/tasks", json={"prompt": "bad"}).json()["run_id"]
        assert wait_for(client, ok)["output"] == {"answer": 42}
        terminated = wait_for(client, bad)
    assert terminated["status"] == "terminated"
    assert terminated["failure_reason"] == "Login wall"
    assert terminated["errors"][0]["error_code"] == "LOGIN_REQUIRED"
    assert terminated["output"] == {"error_code": "LOGIN_REQUIRED"}


def test_workflow_retry_pending_shows_failed_before_the_second_attempt(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.05, "retry_pending": 0.4}]})
    with api_client(sim) as client:
        run_id = client.post("/v1/run/agents", json={"workflow_id": "wpid_1"}).json()["run_id"]
        interim = None
        deadline = time.monotonic() + 5
        while interim is None:
            body = client.get(f"/v1/runs/{run_id}").json()
            if body["retry_pending"]:
                interim = body
            assert time.monotonic() < deadline
            time.sleep(0.005)
        final = wait_for(client, run_id)
    assert interim["status"] == "failed" and interim["next_attempt_at"] is not None
    assert interim["attempt"] == 1
    assert final["status"] == "completed" and final["attempt"] == 2
    assert final["retry_pending"] is False
    assert [a["attempt_number"] for a in final["attempts"]] == [1, 2]


def test_list_is_newest_first_with_paging_and_filters(simulator):
    sim = simulator(
        {
            "rules": [
                {"match": {"prompt": "fail*"}, "outcomes": ["failed"], "duration": 0},
                {"match": {}, "duration": 0},
            ]
        }
    )
    with api_client(sim) as client:
        ids = [
            client.post("/v1/run/tasks", json={"prompt": f"ok {i}", "title": f"job-{i}"}).json()[
                "run_id"
            ]
            for i in range(5)
        ]
        failed = client.post("/v1/run/tasks", json={"prompt": "fail", "title": "job-x"}).json()
        v2 = client.post(
            "/v1/run/tasks", json={**TASK, "engine": "skyvern-2.0", "title": "job-v2"}
        ).json()
        wf = client.post(
            "/v1/run/agents",
            json={
                "workflow_id": "wpid_7",
                "parameters": {"sku": "A-77"},
                "run_metadata": {"batch": "b1"},
            },
        ).json()
        everything = client.get("/v1/runs").json()
        assert [i["run_id"] for i in everything][-5:] == ids[::-1]
        page2 = client.get("/v1/runs", params={"page": 2, "page_size": 3}).json()
        assert [i["run_id"] for i in page2] == [ids[4], ids[3], ids[2]]
        assert [
            i["run_id"] for i in client.get("/v1/runs", params={"status": "failed"}).json()
        ] == [failed["run_id"]]
        by_type = client.get(
            "/v1/runs", params=[("run_type", "task_v2"), ("run_type", "workflow_run")]
        ).json()
        assert {i["run_id"] for i in by_type} == {v2["run_id"], wf["run_id"]}
        # title is searchable for v1 but ignored by skyvern-2.0, which lists its own title
        assert [
            i["run_id"] for i in client.get("/v1/runs", params={"search_key": "JOB-3"}).json()
        ] == [ids[3]]
        assert client.get("/v1/runs", params={"search_key": "job-v2"}).json() == []
        v2_item = next(i for i in everything if i["run_id"] == v2["run_id"])
        assert v2_item["title"] != "job-v2"
        assert [
            i["run_id"] for i in client.get("/v1/runs", params={"search_key": "shop.test"}).json()
        ] == [v2["run_id"]]
        assert [
            i["run_id"] for i in client.get("/v1/runs", params={"search_key": "a-77"}).json()
        ] == [wf["run_id"]]
        assert [
            i["run_id"] for i in client.get("/v1/runs", params={"tags": "batch:b1"}).json()
        ] == [wf["run_id"]]
        assert client.get("/v1/runs", params={"tags": "batch:b2"}).json() == []
        assert client.get("/v1/runs", params={"tags": "batch:"}).status_code == 400
        too_far = client.get("/v1/runs", params={"search_key": "job", "page": 11, "page_size": 100})
        assert too_far.status_code == 400


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"page_size": 101}, ["query", "page_size"]),
        ({"page": 0}, ["query", "page"]),
        ({"search_key": "ab"}, ["query", "search_key"]),
        ({"status": "cancelled"}, ["query", "status", 0]),
        ({"run_type": "task_v9"}, ["query", "run_type", 0]),
    ],
)
def test_bad_list_queries_get_fastapis_422(simulator, params, loc):
    sim = simulator()
    with api_client(sim) as client:
        response = client.get("/v1/runs", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_cancel_semantics_per_run_type(simulator):
    sim = simulator(
        {
            "rules": [
                {"match": {"prompt": "slow*"}, "duration": 60},
                {"match": {"prompt": "timeout"}, "duration": 0, "outcomes": ["timed_out"]},
                {"match": {}, "duration": 0},
            ]
        }
    )
    with api_client(sim) as client:

        def create(prompt: str, engine: str = "skyvern-1.0") -> str:
            body = {"prompt": prompt, "engine": engine}
            return client.post("/v1/run/tasks", json=body).json()["run_id"]

        slow = create("slow")
        assert client.post(f"/v1/runs/{slow}/cancel").json() is None
        assert client.get(f"/v1/runs/{slow}").json()["status"] == "canceled"
        again = client.post(f"/v1/runs/{slow}/cancel")
        assert again.status_code == 400
        assert again.json() == {
            "detail": f"Invalid task status transition to canceled for {slow} "
            "because task is already canceled"
        }
        done = create("quick")
        wait_for(client, done)
        finished = client.post(f"/v1/runs/{done}/cancel")
        assert finished.status_code == 400
        assert finished.json() == {
            "detail": f"Invalid task status transition from completed to canceled for {done}"
        }
        timed_out = create("timeout")
        wait_for(client, timed_out)
        late = client.post(f"/v1/runs/{timed_out}/cancel")
        assert (late.status_code, late.json()) == (
            500,
            {"error": "Unexpected error: TaskAlreadyTimeout"},
        )
        missing = client.post("/v1/runs/tsk_404/cancel")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Run not found tsk_404"})
        workflow = client.post("/v1/run/agents", json={"workflow_id": "wpid_1"}).json()["run_id"]
        wait_for(client, workflow)
        assert client.post(f"/v1/runs/{workflow}/cancel").status_code == 200
        assert client.get(f"/v1/runs/{workflow}").json()["status"] == "completed"  # final stays

        bulk_ids = [create("slow 2"), create("slow 3", "skyvern-2.0"), done, "tsk_missing"]
        bulk = client.post("/v1/runs/cancel", json={"run_ids": [*bulk_ids, bulk_ids[0]]}).json()
        assert bulk == {"cancelled": bulk_ids[:2], "failed": [done, "tsk_missing"]}
        too_many = client.post(
            "/v1/runs/cancel", json={"run_ids": [f"tsk_{i}" for i in range(101)]}
        )
        assert too_many.status_code == 422
    runs = sim.stats()["runs"]
    assert runs[slow]["cancels"] == 2 and runs[slow]["status"] == "canceled"


def test_auth_is_403_never_401(simulator):
    sim = simulator(api_key="right")
    with api_client(sim) as client:
        missing = client.get("/v1/runs", headers={"x-api-key": ""})
        wrong = client.get("/v1/runs", headers={"x-api-key": "wrong"})
        unknown = client.get("/v1/runs/tsk_1")
    assert (missing.status_code, missing.json()) == (403, {"detail": "Invalid credentials"})
    assert (wrong.status_code, wrong.json()) == (403, {"detail": "Could not validate credentials"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Task run not found tsk_1"})


@pytest.mark.parametrize(
    ("body", "kind", "loc"),
    [
        ({"url": "https://a.test"}, "missing", ["body", "prompt"]),
        ({"prompt": 3}, "string_type", ["body", "prompt"]),
        ({"prompt": "p", "engine": "skyvern_v2"}, "enum", ["body", "engine"]),
        ({"prompt": "p", "max_steps": "many"}, "int_parsing", ["body", "max_steps"]),
    ],
)
def test_malformed_task_requests_get_fastapis_422(simulator, body, kind, loc):
    sim = simulator()
    with api_client(sim) as client:
        response = client.post("/v1/run/tasks", json=body)
    assert response.status_code == 422
    first = response.json()["detail"][0]
    assert (first["type"], first["loc"]) == (kind, loc)
    assert set(first) >= {"type", "loc", "msg", "input"}
    assert sim.stats()["runs_created"] == 0


def test_not_json_is_a_422_and_trailing_slashes_are_accepted(simulator):
    sim = simulator()
    with api_client(sim) as client:
        broken = client.post(
            "/v1/run/tasks", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
        assert client.get("/v1/runs/").status_code == 200
        assert client.get("/v1/version/").json() == {"version": "1.0.56"}


def test_timeline_exists_only_for_v2_and_workflow_runs(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0, "steps": 4}]})
    with api_client(sim) as client:
        v1 = client.post("/v1/run/tasks", json=TASK).json()["run_id"]
        v2 = client.post("/v1/run/tasks", json={**TASK, "engine": "skyvern-2.0"}).json()["run_id"]
        wait_for(client, v2)
        refused = client.get(f"/v1/runs/{v1}/timeline")
        assert (refused.status_code, refused.json()) == (
            400,
            {"detail": "Timeline not available for run type task_v1"},
        )
        assert client.get("/v1/runs/wr_1/timeline").status_code == 404
        entries = client.get(f"/v1/runs/{v2}/timeline").json()
    assert len(entries) == 4
    assert {e["type"] for e in entries} <= {"block", "thought"}
    assert all(e["children"] == [] for e in entries)
