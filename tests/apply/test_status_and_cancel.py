"""`status` and `cancel` on a batch, alone and while an `apply` of it is running."""

from __future__ import annotations

import time

from click.testing import CliRunner

from batchrun.cli import cli

from .conftest import Workspace

SITE = "https://shop.example"


def test_cancel_while_apply_runs_cancels_remote_runs_and_stops_the_batch(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 30}]})
    spec = workspace.spec(
        [{"id": f"t{i}", "prompt": "Price", "url": f"{SITE}/{i}"} for i in range(5)],
        concurrency=2,
    )
    proc = workspace.apply_process(spec, sim)
    deadline = time.monotonic() + 30
    while sim.stats()["runs_created"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    result = CliRunner().invoke(
        cli, ["cancel", str(spec)], env=workspace.env(sim), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "canceled 2 run(s) in flight and 5 unfinished task(s)" in result.output

    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)  # canceled tasks are not successes
    assert sim.stats()["runs_created"] == 2  # nothing more was submitted after the cancel
    assert sorted(r["status"] for r in sim.stats()["runs"].values()) == ["canceled", "canceled"]
    status = workspace.status(spec)
    assert status["counts"]["canceled"] == 5


def test_status_lists_unfinished_and_failed_tasks_with_reasons(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {
                    "match": {"url": "*/bad/*"},
                    "outcomes": ["terminated"],
                    "duration": 0.05,
                    "failure_reason": "Login wall",
                },
                {"match": {"url": "*"}, "duration": 0.05},
            ]
        }
    )
    spec = workspace.spec(
        [
            {"id": "good", "prompt": "Price", "url": f"{SITE}/ok"},
            {"id": "bad", "prompt": "Price", "url": f"{SITE}/bad/x"},
        ]
    )
    assert workspace.apply(spec, sim).exit_code == 1
    result = CliRunner().invoke(
        cli, ["status", str(spec), "--state", str(workspace.state)], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert "1 succeeded, 1 failed" in result.output
    [line] = [line for line in result.output.splitlines() if line.strip().startswith("bad")]
    assert "terminated" in line and "Login wall" in line
    assert not any(line.strip().startswith("good") for line in result.output.splitlines())


def test_status_of_a_batch_never_applied_is_a_clear_usage_error(workspace: Workspace):
    spec = workspace.spec([{"id": "a", "prompt": "Price", "url": f"{SITE}/a"}])
    result = CliRunner().invoke(cli, ["status", str(spec), "--state", str(workspace.state)])
    assert result.exit_code == 2
    assert "has never been applied" in result.output
    assert not workspace.state.exists()  # asking does not create a state file
    workspace.apply(spec, _Unreachable())  # creates the state, fails to reach the API
    result = CliRunner().invoke(
        cli, ["status", str(spec), "--state", str(workspace.state), "--run", "nope"]
    )
    assert result.exit_code == 2 and "no instance with run key 'nope'" in result.output


class _Unreachable:
    api_key = "k"
    base_url = "http://127.0.0.1:9"
