"""Nightly bulk extraction: halt when a site breaks, and show what changed since last night."""

from __future__ import annotations

import json

from click.testing import CliRunner

from batchrun.cli import cli

from .conftest import Workspace

SITE = "https://shop.example"


def _tasks(count: int) -> list[dict]:
    return [{"id": f"p{n:02d}", "prompt": "Price", "url": f"{SITE}/p{n:02d}"} for n in range(count)]


def test_an_all_failing_batch_halts_and_resumes_once_the_site_is_fixed(
    simulator, workspace: Workspace
):
    broken = {"rules": [{"match": {"url": "*"}, "outcomes": ["failed"], "duration": 0.1}]}
    sim = simulator(broken)
    spec = workspace.spec(
        _tasks(40),
        concurrency=4,
        retry={"attempts": 1},
        halt={"max_failures": 8},
    )
    halted = workspace.apply(spec, sim)
    assert halted.exit_code == 7, halted.output
    created = sim.stats()["runs_created"]
    assert 8 <= created <= 12  # at most the runs in flight when the 8th failure came in
    assert "halted: 8 of 8 ended tasks failed" in halted.output
    status = workspace.status(spec)
    assert status["stopped"]["why"] == "halted" and status["halted"]["failures"] == 8

    sim.set_scenario({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    resumed = workspace.apply(spec, sim)
    outputs = workspace.outputs()
    assert all(row["status"] in ("succeeded", "failed") for row in outputs)
    assert resumed.exit_code == 1  # the tasks that failed before stay failed ...
    assert workspace.apply(spec, sim, "--retry-failed").exit_code == 0  # ... until asked
    assert all(row["status"] == "succeeded" for row in workspace.outputs())


def test_halt_mode_now_cancels_the_runs_in_flight(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/p0*"}, "outcomes": ["failed"], "duration": 0.05},
                {"match": {"url": "*"}, "duration": 30},
            ]
        }
    )
    tasks = [*_tasks(3), {"id": "slow-a", "prompt": "P", "url": f"{SITE}/slow/a"}]
    spec = workspace.spec(tasks, concurrency=4, retry={"attempts": 1})
    result = workspace.apply(spec, sim, "--halt-on-failures", "2", "--halt-mode", "now")
    assert result.exit_code == 7, result.output
    canceled = [r for r in sim.stats()["runs"].values() if r["cancels"]]
    assert canceled, "the slow run in flight was canceled"
    assert {row["task"]: row["status"] for row in workspace.outputs()}["slow-a"] == "canceled"


def test_diff_names_exactly_the_tasks_and_fields_that_changed(simulator, workspace: Workspace):
    def scenario(price_a: float, b_fails: bool) -> dict:
        return {
            "rules": [
                {"match": {"url": "*/a"}, "output": {"price": price_a, "currency": "EUR"}},
                {
                    "match": {"url": "*/b"},
                    "outcomes": ["failed" if b_fails else "completed"],
                    "output": {"price": 5, "currency": "EUR"},
                },
                {"match": {"url": "*"}, "output": {"price": 1, "currency": "EUR"}},
            ]
        }

    sim = simulator(scenario(19.99, b_fails=False))
    spec = workspace.spec(
        [{"id": t, "prompt": "Price", "url": f"{SITE}/{t}"} for t in ("a", "b", "c")],
        retry={"attempts": 1},
    )
    assert workspace.apply(spec, sim, "--run", "day1").exit_code == 0
    sim.set_scenario(scenario(21.49, b_fails=True))
    second = workspace.apply(spec, sim, "--run", "day2", "--diff-from", "day1")
    assert second.exit_code == 1  # b failed

    def diff(*args: str):
        return CliRunner().invoke(
            cli,
            ["diff", str(spec), "--state", str(workspace.state), *args],
            catch_exceptions=False,
        )

    result = diff("--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert (document["from"], document["to"]) == ("day1", "day2")
    assert document["changed"] == [
        {"task": "a", "fields": [{"path": "$.price", "from": 19.99, "to": 21.49}]}
    ]
    assert [item["task"] for item in document["newly_failed"]] == ["b"]
    assert document["unchanged"] == 1 and not document["added"] and not document["removed"]

    day2 = workspace.results / "batch" / "day2"
    assert json.loads((day2 / "diff.json").read_text())["changed"] == document["changed"]
    assert diff("--from", "day1", "--to", "day1").exit_code == 0
    assert diff("--to", "nope").exit_code == 2
    assert diff("--ignore", "$.price", "--only", "a").exit_code == 0

    assert (
        CliRunner()
        .invoke(cli, ["report", str(spec), "--run", "day2", "--state", str(workspace.state)])
        .exit_code
        == 0
    )
    page = (day2 / "report.html").read_text()
    assert "Since the last run" in page and "21.49" in page


def test_plan_requests_shows_the_next_attempts_request_with_secrets_masked(
    simulator, workspace: Workspace, monkeypatch
):
    monkeypatch.setenv("SHOP_TOKEN", "s3cret-token-value")
    sim = simulator({"rules": [{"match": {"url": "*"}, "outcomes": ["failed"], "duration": 0.05}]})
    tasks = [
        {
            "id": "a",
            "prompt": "Price",
            "url": f"{SITE}/a",
            "engine": "skyvern-1.0",
            "extra_http_headers": {"Authorization": "Bearer ${SHOP_TOKEN}"},
        }
    ]
    retry = {"attempts": 2, "escalate": [{"attempt": 2, "max_steps": 30}]}
    spec = workspace.spec(tasks, retry=retry)
    assert workspace.apply(spec, sim, "--only", "a").exit_code == 1

    result = CliRunner().invoke(
        cli,
        ["plan", str(spec), "--state", str(workspace.state), "--requests", "--retry-failed"],
        env={"SHOP_TOKEN": "s3cret-token-value"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "a: POST /v1/run/tasks" in result.output
    assert "x-api-key: ***" in result.output
    assert "${SHOP_TOKEN}" in result.output and "s3cret-token-value" not in result.output
    assert "[br-<next>]" in result.output  # the title carries the attempt key
    document = json.loads(
        CliRunner()
        .invoke(
            cli,
            ["plan", str(spec), "--state", str(workspace.state), "--requests", "--json"],
            env={"SHOP_TOKEN": "s3cret-token-value"},
        )
        .output
    )
    assert document["requests"] == []  # ended and not asked to retry: nothing to send
