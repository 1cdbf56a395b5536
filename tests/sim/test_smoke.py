"""The simulator's core loop over real loopback HTTP: create, poll to the end, list, cancel."""

from __future__ import annotations

import time

import httpx


def wait_done(client: httpx.Client, run_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/runs/{run_id}").json()
        if body["status"] in ("completed", "failed", "terminated", "timed_out", "canceled"):
            return body
        assert time.monotonic() < deadline, f"run {run_id} still {body['status']}"
        time.sleep(0.02)


def test_task_runs_to_its_scripted_outcome_and_is_listed(simulator):
    sim = simulator(
        {
            "rules": [
                {
                    "match": {"url": "*/flaky/*"},
                    "outcomes": ["failed", "completed"],
                    "duration": 0.1,
                }
            ]
        }
    )
    with httpx.Client(base_url=sim.base_url, headers={"x-api-key": sim.api_key}) as client:
        first = client.post("/v1/run/tasks", json={"prompt": "go", "url": "https://x.test/flaky/1"})
        assert first.status_code == 200
        assert first.json()["status"] == "created"
        assert first.json()["run_id"].startswith("tsk_")
        assert wait_done(client, first.json()["run_id"])["status"] == "failed"
        second = client.post(
            "/v1/run/tasks", json={"prompt": "go", "url": "https://x.test/flaky/1#b"}
        )
        assert wait_done(client, second.json()["run_id"])["status"] == "completed"
        listed = client.get("/v1/runs").json()
        assert [item["run_id"] for item in listed] == [
            second.json()["run_id"],
            first.json()["run_id"],
        ]
    stats = sim.stats()
    assert stats["creates_by_task"] == {"https://x.test/flaky/1 | go": 2}
    assert stats["runs_created"] == 2
