"""`batchrun sim` on the command line: bad ports end in one error line; `--store` resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.errors import UsageError
from batchrun.sim import start_simulator


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("Error", "batchrun: error:"))]


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_a_port_outside_the_tcp_range_is_a_usage_error(port):
    result = CliRunner().invoke(cli, ["sim", "--port", port])
    assert result.exit_code == 2
    assert len(_error_lines(result.output)) == 1, result.output
    assert "--port" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception


def test_the_library_refuses_a_port_outside_the_range_with_a_usage_error():
    with pytest.raises(UsageError, match="port must be 0-65535"):
        start_simulator(port=99999)


def _serve(store: Path) -> tuple[subprocess.Popen[str], str]:
    """`batchrun sim --store` in its own process, and the base URL it announces."""
    process = subprocess.Popen(
        [sys.executable, "-m", "batchrun", "sim", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()  # blocks until the simulator listens
    assert first.startswith("SKYVERN_BASE_URL="), first
    return process, first.removeprefix("SKYVERN_BASE_URL=")


def _interrupt(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0


def test_batchrun_sim_with_a_store_answers_for_its_runs_after_a_restart(tmp_path):
    store = tmp_path / "sim" / "spec.db"
    process, base_url = _serve(store)
    try:
        with httpx.Client(base_url=base_url, headers={"x-api-key": "sim-key"}) as client:
            run_id = client.post("/v1/run/tasks", json={"prompt": "p"}).json()["run_id"]
    finally:
        _interrupt(process)
    process, base_url = _serve(store)
    try:
        with httpx.Client(base_url=base_url, headers={"x-api-key": "sim-key"}) as client:
            again = client.get(f"/v1/runs/{run_id}")
            other = client.post("/v1/run/tasks", json={"prompt": "p"}).json()["run_id"]
            stats = client.get("/_sim/stats").json()
    finally:
        _interrupt(process)
    assert again.status_code == 200 and again.json()["run_id"] == run_id
    assert other != run_id and stats["runs_created"] == 2
