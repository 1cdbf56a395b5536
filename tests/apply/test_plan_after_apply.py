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
    dropped = {"id": "dropped", "prompt": "Price", "url": f"{SITE}/e"}
    assert workspace.apply(workspace.spec([*tasks, dropped]), sim).exit_code == 1
    tasks[1]["prompt"] = "Price and currency"
    tasks.append({"id": "new", "prompt": "Price", "url": f"{SITE}/d"})
    spec = workspace.spec(tasks)
    requests_before = sim.stats()["requests_total"]

    def plan(*flags: str) -> dict:
        result = CliRunner().invoke(
            cli,
            ["plan", str(spec), "--state", str(workspace.state), "--json", *flags],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    document = plan()
    actions = {row["task"]: row["action"] for row in document["tasks"]}
    assert actions == {
        "same": "skip",
        "edited": "changed",
        "gave-up": "keep",  # terminated: the agent judged it unachievable; not retried
        "new": "create",
        "dropped": "remove",
    }
    edited = next(row for row in document["tasks"] if row["task"] == "edited")
    assert edited["changed_fields"] == ["body.prompt"]
    assert document["state_path"] == str(workspace.state)
    retried = {row["task"]: row["action"] for row in plan("--retry-failed")["tasks"]}
    assert retried["gave-up"] == "retry"
    assert {row["task"]: row["action"] for row in plan("--retry", "failed")["tasks"]}[
        "gave-up"
    ] == "keep"
    assert sim.stats()["requests_total"] == requests_before  # plan never touches the network

    text = CliRunner().invoke(cli, ["plan", str(spec), "--state", str(workspace.state)])
    assert text.output.startswith(f"state {workspace.state} · instance batch/")
    assert "changed (prompt)" in text.output
    assert (
        "1 to create, 1 unchanged, 1 changed, 0 to resume, 0 to retry, 1 ended (kept), "
        "1 to remove" in text.output
    )


def test_plan_with_an_unknown_run_key_is_an_error_naming_the_known_keys(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec([{"id": "a", "prompt": "Price", "url": f"{SITE}/a"}])
    assert workspace.apply(spec, sim, "--run", "monday").exit_code == 0
    result = CliRunner().invoke(
        cli, ["plan", str(spec), "--state", str(workspace.state), "--run", "mondya"]
    )
    assert result.exit_code == 2
    assert "no instance with run key 'mondya'" in result.output and "monday" in result.output


def test_plan_never_creates_a_state_file(workspace: Workspace):
    spec = workspace.spec([{"id": "a", "prompt": "Price", "url": f"{SITE}/a"}])
    result = CliRunner().invoke(cli, ["plan", str(spec), "--state", str(workspace.state)])
    assert result.exit_code == 0, result.output
    assert not workspace.state.exists()
