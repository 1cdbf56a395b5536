"""Which batch instance a command works on: --run, --new, or the latest; and no empty ones."""

from __future__ import annotations

import json

from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.ops.apply import new_run_key
from batchrun.state import open_store

from .conftest import Workspace

SITE = "https://shop.example"


def test_run_keys_from_new_are_unique_even_twice_in_one_second(workspace: Workspace) -> None:
    store = open_store(workspace.state)
    first = new_run_key(store, "batch")
    store.create_batch("batch", first, None)
    second = new_run_key(store, "batch")
    assert second != first and second.startswith(first)


def test_new_named_and_latest_instances_and_runs_lists_them(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec([{"id": "a", "prompt": "Price", "url": f"{SITE}/a"}])
    assert workspace.apply(spec, sim, "--run", "2026-11-30").exit_code == 0
    assert workspace.apply(spec, sim, "--new").exit_code == 0
    assert sim.stats()["runs_created"] == 2
    # Without --run: the latest instance, already done: nothing is created.
    assert workspace.apply(spec, sim).exit_code == 0
    assert workspace.apply(spec, sim, "--run", "2026-11-30").exit_code == 0
    assert sim.stats()["runs_created"] == 2

    listed = CliRunner().invoke(
        cli, ["runs", str(spec), "--state", str(workspace.state), "--json"], catch_exceptions=False
    )
    instances = json.loads(listed.output)
    assert instances[0]["run_key"] == "2026-11-30"
    assert len(instances) == 2 and all(item["finished"] for item in instances)
    assert all(item["counts"]["succeeded"] == 1 for item in instances)


def test_new_with_a_refused_key_or_no_api_leaves_the_latest_instance_as_it_was(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec([{"id": "a", "prompt": "Price", "url": f"{SITE}/a"}])
    assert workspace.apply(spec, sim, "--run", "first").exit_code == 0

    refused = CliRunner().invoke(
        cli,
        ["apply", str(spec), "--new", "--api-url", sim.base_url, "--log-format", "plain"],
        env={**workspace.env(sim), "SKYVERN_API_KEY": "wrong-key"},
        catch_exceptions=False,
    )
    assert refused.exit_code == 3, refused.output
    unreachable = CliRunner().invoke(
        cli,
        ["apply", str(spec), "--new", "--api-url", "http://127.0.0.1:9", "--log-format", "plain"],
        env=workspace.env(sim),
        catch_exceptions=False,
    )
    assert unreachable.exit_code == 3, unreachable.output

    store = open_store(workspace.state)
    assert [batch.run_key for batch in store.list_batches("batch")] == ["first"]
    plan = CliRunner().invoke(
        cli, ["plan", str(spec), "--state", str(workspace.state), "--json"], catch_exceptions=False
    )
    assert json.loads(plan.output)["run_key"] == "first"
