"""`plan` reads the state `apply` wrote: skip, changed, retry and create, without a network."""

from __future__ import annotations

import json

from click.testing import CliRunner

from batchrun.cli import cli

from .conftest import Workspace

SITE = "https://shop.example"


def test_plan_after_a_batch_shows_what_the_next_apply_would_do(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/blocked/*"}, "outcomes": ["terminated"], "duration": 0.05},
                {"match": {"url": "*"}, "duration": 0.05},
            ]
        }
    )
    tasks = [
        {"id": "same", "prompt": "Price", "url": f"{SITE}/a"},
        {"id": "edited", "prompt": "Price", "url": f"{SITE}/b"},
        {"id": "gave-up", "prompt": "Price", "url": f"{SITE}/blocked/c"},
    ]
    assert workspace.apply(workspace.spec(tasks), sim).exit_code == 1
    tasks[1]["prompt"] = "Price and currency"
    tasks.append({"id": "new", "prompt": "Price", "url": f"{SITE}/d"})
    spec = workspace.spec(tasks)
    requests_before = sim.stats()["requests_total"]

    result = CliRunner().invoke(
        cli,
        ["plan", str(spec), "--state", str(workspace.state), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    actions = {row["task"]: row["action"] for row in json.loads(result.output)["tasks"]}
    assert actions == {"same": "skip", "edited": "changed", "gave-up": "retry", "new": "create"}
    assert sim.stats()["requests_total"] == requests_before  # plan never touches the network

    text = CliRunner().invoke(cli, ["plan", str(spec), "--state", str(workspace.state)])
    assert "1 to create, 1 unchanged, 1 changed, 0 to resume, 1 to retry" in text.output


def test_plan_never_creates_a_state_file(workspace: Workspace):
    spec = workspace.spec([{"id": "a", "prompt": "Price", "url": f"{SITE}/a"}])
    result = CliRunner().invoke(cli, ["plan", str(spec), "--state", str(workspace.state)])
    assert result.exit_code == 0, result.output
    assert not workspace.state.exists()
