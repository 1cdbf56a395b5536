"""Injected faults look to a client exactly like the real failures they stand in for."""

from __future__ import annotations

import time

import httpx
import pytest
from sim_helpers import api_client

TASK = {"prompt": "find the price", "url": "https://shop.test/item"}


def test_rate_limit_answers_429_with_skyverns_body_and_sometimes_retry_after(simulator):
    sim = simulator({"seed": 7, "faults": {"rate_limit": 1.0, "retry_after": 2}})
    with api_client(sim) as client:
        responses = [client.get("/v1/runs") for _ in range(40)]
    assert {r.status_code for r in responses} == {429}
    assert responses[0].json()["detail"].startswith("Rate limit exceeded for organization")
    hints = {r.headers.get("retry-after") for r in responses}
    assert hints == {"2", None}  # present on some, absent on others (retry_after_rate 0.5)
    assert sim.stats()["faults_injected"] == {"rate_limit": 40}


def test_retry_after_can_be_switched_off(simulator):
    sim = simulator({"faults": {"rate_limit": 1.0, "retry_after": None}})
    with api_client(sim) as client:
        assert all("retry-after" not in client.get("/v1/runs").headers for _ in range(10))


def test_server_errors_are_500_502_503_in_skyverns_shapes(simulator):
    sim = simulator({"seed": 3, "faults": {"server_error": 1.0}})
    with api_client(sim) as client:
        responses = [client.get("/v1/runs/tsk_1") for _ in range(60)]
    by_status = {r.status_code: r for r in responses}
    assert set(by_status) == {500, 502, 503}
    assert by_status[500].json() == {"error": "Unexpected error: SimulatedServerError"}
    assert by_status[503].json() == {"error": "Database temporarily unavailable"}
    assert by_status[503].headers["retry-after"] == "1"  # a GET: Skyvern hints
    assert sim.stats()["runs_created"] == 0


def test_a_503_on_a_create_never_creates_a_run(simulator):
    sim = simulator({"faults": {"server_error": 1.0, "endpoints": ["create"]}})
    with api_client(sim) as client:
        statuses = [client.post("/v1/run/tasks", json=TASK).status_code for _ in range(20)]
        assert client.get("/v1/runs").json() == []  # other endpoints unaffected
    assert set(statuses) <= {500, 502, 503}
    assert sim.stats()["runs_created"] == 0


def test_a_dropped_connection_is_a_transport_error_for_the_client(simulator):
    sim = simulator({"faults": {"drop": 1.0, "endpoints": ["get"]}})
    with api_client(sim) as client:
        run_id = client.post("/v1/run/tasks", json=TASK).json()["run_id"]
        with pytest.raises(httpx.TransportError):
            client.get(f"/v1/runs/{run_id}")
        with pytest.raises(httpx.TransportError):
            client.get(f"/v1/runs/{run_id}")
    assert sim.stats()["faults_injected"] == {"drop": 2}


def test_a_dropped_create_may_have_created_the_run(simulator):
    """drop_after_create 1.0: the response is lost after the run exists, as in real life."""
    sim = simulator({"faults": {"drop": 1.0, "drop_after_create": 1.0, "endpoints": ["create"]}})
    with api_client(sim) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/v1/run/tasks", json={**TASK, "title": "batch-abc-1"})
        found = client.get("/v1/runs", params={"search_key": "batch-abc-1"}).json()
    assert [item["title"] for item in found] == ["batch-abc-1"]
    stats = sim.stats()
    assert stats["runs_created"] == 1
    assert stats["faults_injected"] == {"drop": 1, "drop_after_create": 1}


def test_a_create_dropped_before_creation_leaves_no_run(simulator):
    sim = simulator({"faults": {"drop": 1.0, "drop_after_create": 0.0, "endpoints": ["create"]}})
    with api_client(sim) as client, pytest.raises(httpx.TransportError):
        client.post("/v1/run/tasks", json=TASK)
    assert sim.stats()["runs_created"] == 0


def test_faults_are_deterministic_for_a_seed(simulator):
    scenario = {"seed": 11, "faults": {"rate_limit": 0.3, "server_error": 0.3}}
    sequences = []
    for _ in range(2):
        sim = simulator(scenario)
        with api_client(sim) as client:
            sequences.append([client.get("/v1/version").status_code for _ in range(30)])
    assert sequences[0] == sequences[1]
    assert len(set(sequences[0])) > 1


def test_latency_is_added_to_responses(simulator):
    sim = simulator({"faults": {"latency": 0.2, "endpoints": ["version"]}})
    with api_client(sim) as client:
        started = time.monotonic()
        client.get("/v1/version")
        slow = time.monotonic() - started
    # A lower bound only: sleeping 0.2 s can never take less, however loaded the machine.
    assert slow >= 0.2


def test_admin_endpoints_are_never_faulted_and_need_no_key(simulator):
    sim = simulator({"faults": {"rate_limit": 1.0}})
    with httpx.Client(base_url=sim.base_url) as client:
        assert client.get("/_sim/stats").status_code == 200
        assert client.post("/_sim/reset").status_code == 200


def test_scenario_can_be_replaced_at_runtime(simulator):
    sim = simulator()
    with api_client(sim) as client:
        assert client.get("/v1/version").status_code == 200
        assert client.post("/_sim/scenario", json={"faults": {"rate_limit": 1}}).status_code == 200
        assert client.get("/v1/version").status_code == 429
        sim.set_scenario({})
        assert client.get("/v1/version").status_code == 200
        bad = client.post("/_sim/scenario", json={"faults": {"rate_limit": 3}})
        assert bad.status_code == 400
        assert "faults.rate_limit" in bad.json()["detail"]
