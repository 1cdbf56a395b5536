"""A simulator with a store resumes like a real server; ids never repeat across starts."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from sim_helpers import api_client, wait_for

from batchrun.cli import cli
from batchrun.errors import UsageError
from batchrun.sim import start_simulator
from batchrun.sim.store import RunStore

SCENARIO = {
    "rules": [
        {"match": {"prompt": "long*"}, "duration": 2.0, "steps": 3},
        {"match": {"prompt": "flaky"}, "duration": 0, "outcomes": ["failed", "completed"]},
        {"match": {}, "duration": 0, "files": [{"name": "report.csv", "size": 300}]},
    ]
}


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_restarted_simulator_answers_for_its_runs_and_moves_them_on(simulator, tmp_path):
    store = tmp_path / "state" / "sim" / "spec.db"  # its folder does not exist yet
    first = simulator(SCENARIO, store_path=store)
    with api_client(first) as client:
        quick = wait_for(
            client, client.post("/v1/run/tasks", json={"prompt": "q"}).json()["run_id"]
        )
        flaky = wait_for(
            client, client.post("/v1/run/tasks", json={"prompt": "flaky"}).json()["run_id"]
        )
        long_id = client.post("/v1/run/tasks", json={"prompt": "long run"}).json()["run_id"]
        doomed_id = client.post("/v1/run/tasks", json={"prompt": "long doomed"}).json()["run_id"]
        assert client.post(f"/v1/runs/{doomed_id}/cancel").status_code == 200
        v2_id = client.post(
            "/v1/run/tasks", json={"prompt": "long v2", "engine": "skyvern-2.0"}
        ).json()["run_id"]
        long_before = wait_for(client, long_id, {"running"})
    assert flaky["status"] == "failed"
    first.stop()
    old_ids = {quick["run_id"], flaky["run_id"], long_id, doomed_id, v2_id}

    second = simulator(SCENARIO, store_path=store)
    with api_client(second) as client:
        # Aged by the wall time since its creation: running still (or done), not new again.
        assert client.get(f"/v1/runs/{long_id}").json()["status"] in {"running", "completed"}
        again = client.get(f"/v1/runs/{quick['run_id']}").json()
        assert again["status"] == "completed" and again["output"] == quick["output"]
        assert again["created_at"] == quick["created_at"]
        assert again["finished_at"] == quick["finished_at"]
        # The stored run's file is served again, with the bytes its checksum promised.
        fresh = again["downloaded_files"][0]
        data = httpx.get(fresh["url"]).content
        assert (
            hashlib.sha256(data).hexdigest()
            == fresh["checksum"]
            == (quick["downloaded_files"][0]["checksum"])
        )
        assert client.get(f"/v1/runs/{doomed_id}").json()["status"] == "canceled"
        # The long run goes on by wall time from its creation, not from the restart.
        done = wait_for(client, long_id)
        assert done["status"] == "completed" and done["created_at"] == long_before["created_at"]
        assert _stamp(done["finished_at"]) - _stamp(done["created_at"]) == timedelta(seconds=2.0)
        assert wait_for(client, v2_id)["status"] == "completed"
        listed = {item["run_id"] for item in client.get("/v1/runs").json()}
        assert old_ids <= listed
        # The scenario's outcomes go on from where they were: the second try completes.
        retried = client.post("/v1/run/tasks", json={"prompt": "flaky"}).json()["run_id"]
        assert wait_for(client, retried)["status"] == "completed"
    assert retried not in old_ids
    assert int(retried.removeprefix("tsk_")) > max(
        int(run_id.rsplit("_", 1)[1]) for run_id in old_ids
    )
    stats = second.stats()
    assert stats["runs_created"] == 6
    assert set(stats["runs"]) == old_ids | {retried}
    assert stats["creates_by_task"][" | flaky"] == 2
    assert stats["runs"][doomed_id]["cancels"] == 1


def test_reset_forgets_the_stored_runs_too(simulator, tmp_path):
    store = tmp_path / "sim.db"
    first = simulator(SCENARIO, store_path=store)
    with api_client(first) as client:
        old = client.post("/v1/run/tasks", json={"prompt": "q"}).json()["run_id"]
        assert client.post("/_sim/reset").status_code == 200
    first.stop()
    second = simulator(SCENARIO, store_path=store)
    with api_client(second) as client:
        assert client.get(f"/v1/runs/{old}").status_code == 404
    assert second.stats()["runs_created"] == 0


def test_two_seeded_starts_never_reuse_an_id_but_give_the_same_outputs(simulator):
    schema = {"type": "object", "properties": {"price": {"type": "number"}}}
    task = {"prompt": "price", "data_extraction_schema": schema, "engine": "skyvern-2.0"}
    starts = []
    for _ in range(2):
        sim = simulator({**SCENARIO, "seed": 5})
        with api_client(sim) as client:
            runs = [
                wait_for(client, client.post("/v1/run/tasks", json=body).json()["run_id"])
                for body in (task, {"prompt": "q"}, {"prompt": "q"})
            ]
        sim.stop()
        starts.append(runs)
    ids = [{run["run_id"] for run in runs} for runs in starts]
    assert len(ids[0]) == len(ids[1]) == 3 and not ids[0] & ids[1]
    first, second = starts
    assert first[0]["output"] == second[0]["output"] and "price" in first[0]["output"]
    checksums = [[run["downloaded_files"][0]["checksum"] for run in runs[1:]] for runs in starts]
    assert checksums[0] == checksums[1]  # same seed, task and attempt: same bytes
    assert checksums[0][0] != checksums[0][1]  # a second attempt's file is its own


def _one_error_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_a_corrupt_store_is_a_one_line_usage_error(tmp_path):
    corrupt = tmp_path / "sim.db"
    corrupt.write_bytes(b"this is not a database, it only sits where one should be" * 100)
    with pytest.raises(UsageError) as caught:
        start_simulator(store_path=corrupt)
    assert "\n" not in str(caught.value) and str(corrupt) in str(caught.value)

    result = CliRunner().invoke(cli, ["sim", "--store", str(corrupt)])
    assert result.exit_code == 2
    assert _one_error_line(result.output).startswith("batchrun: error:")


def test_a_store_with_a_mangled_row_or_in_a_folder_is_a_usage_error(tmp_path):
    store = tmp_path / "sim.db"
    with start_simulator(SCENARIO, store_path=store) as sim, api_client(sim) as client:
        client.post("/v1/run/tasks", json={"prompt": "q"})
    with closing(sqlite3.connect(store)) as db, db:  # closed after: a store has one user
        db.execute("UPDATE runs SET record = '{\"num\": 1}'")
    with pytest.raises(UsageError, match="unreadable"):
        start_simulator(store_path=store)
    with pytest.raises(UsageError, match="cannot open"):
        start_simulator(store_path=tmp_path)  # a folder, not a file


def test_a_loaded_run_is_as_old_as_the_wall_time_since_its_creation(simulator, tmp_path):
    store = tmp_path / "sim.db"
    sim = simulator(SCENARIO, store_path=store)
    with api_client(sim) as client:
        run_id = client.post("/v1/run/tasks", json={"prompt": "long"}).json()["run_id"]
    sim.stop()
    opened = RunStore.open(store)
    try:
        (run,) = opened.load(now_mono=0.0, now_wall=datetime(2000, 1, 1))
        created_wall = run.created_wall
        # Loaded 10 s of wall time after its creation, in a process whose clock reads 1000.
        (run,) = opened.load(now_mono=1000.0, now_wall=created_wall + timedelta(seconds=10))
    finally:
        opened.close()
    assert run.run_id == run_id
    assert run.created_mono == pytest.approx(990.0)
    assert run.state_at(1000.0).status == "completed"  # its 2 s ended while nobody watched
    assert run.state_at(990.5).status == "running"


def test_a_store_serves_one_simulator_at_a_time(simulator, tmp_path):
    store = tmp_path / "sim.db"
    simulator(SCENARIO, store_path=store)
    with pytest.raises(UsageError, match="in use by another simulator"):
        start_simulator(SCENARIO, store_path=store)
