"""`batchrun inspect`: a task's attempts from the state and its run as the API has it now."""

from __future__ import annotations

import json

from runs_workspace import record_unfinished_attempts, task
from workspace import Workspace

FLAKY = {
    "rules": [
        {"match": {"url": "*/flaky"}, "outcomes": ["failed", "completed"], "duration": 0.1,
         "failure_reason": "Page did not load"},
        {"match": {"url": "*"}, "duration": 0.1},
    ]
}  # fmt: skip


def test_shows_every_attempt_and_the_last_run_as_the_api_has_it(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("checkout-1", "flaky", engine="skyvern-1.0")])
    workspace.apply(spec, sim)

    result = workspace.run("inspect", str(spec), "checkout-1", sim=sim)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first = next(line for line in lines if line.strip().startswith("1 "))
    chosen = next(line for line in lines if line.strip().startswith("* "))
    assert "failed" in first and "Page did not load" in first
    assert chosen.split()[1] == "2" and "completed" in chosen
    run_id = chosen.split()[3]
    assert f"run {run_id} (attempt 2), as the API returns it now:" in result.output
    assert "no timeline for run type task_v1" in result.output
    assert "screenshot_final" in result.output and "recording" in result.output
    assert f"app:               http://localhost:8080/tasks/{run_id}" in result.output


def test_skyvern2_run_has_a_timeline_and_artifacts_listed_by_its_workflow_run_id(
    simulator, workspace: Workspace
):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("search", "plain", engine="skyvern-2.0")])
    workspace.apply(spec, sim)

    result = workspace.run("inspect", str(spec), "search", "--json", sim=sim)

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["offline"] is False
    assert document["run"]["run_type"] == "task_v2"
    assert document["run"]["status"] == "completed"
    assert document["timeline"] and document["timeline_note"] is None
    # The tsk_v2_ id lists nothing; the wr_ id from the app link lists the run's artifacts.
    types = {artifact["artifact_type"] for artifact in document["artifacts"]}
    assert types == {"recording", "screenshot_final"}
    assert all(a["workflow_run_id"].startswith("wr_") for a in document["artifacts"])
    # Signed links are bearer credentials: never printed in clear.
    assert all("sig=***" in a["signed_url"] for a in document["artifacts"])


def test_offline_reads_only_the_state_with_no_server_and_no_key(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("checkout-1", "flaky")])
    workspace.apply(spec, sim)
    sim.stop()

    result = workspace.run("inspect", str(spec), "checkout-1", "--offline", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["offline"] is True and document["run"] is None
    assert [a["status"] for a in document["attempts"]] == ["failed", "completed"]
    assert document["attempts"][0]["failure_reason"] == "Page did not load"
    assert document["attempt"] == 2
    assert document["state"]["state"] == "succeeded"
    assert document["state"]["output_verdict"] == "unchecked"
    assert document["stored_response"]["status"] == "completed"
    assert document["stored_response"]["run_id"] == document["attempts"][1]["run_id"]

    text = workspace.run("inspect", str(spec), "checkout-1", "--offline")
    assert text.exit_code == 0, text.output
    assert "final status:      completed" in text.output
    assert "(offline: the run was not read from the API)" in text.output


def test_a_stopped_server_is_exit_3_with_one_line(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("checkout-1", "plain")])
    workspace.apply(spec, sim)
    sim.stop()

    result = workspace.run("inspect", str(spec), "checkout-1", sim=sim)

    assert result.exit_code == 3
    assert result.output.startswith("batchrun: error: cannot reach the Skyvern API at")
    assert "Traceback" not in result.output


def test_a_rejected_key_is_exit_3(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("checkout-1", "plain")])
    workspace.apply(spec, sim)

    result = workspace.run("inspect", str(spec), "checkout-1", sim=sim, api_key="not-the-key")

    assert result.exit_code == 3
    assert "rejected the API key" in result.output


def test_attempt_option_picks_an_earlier_run(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("checkout-1", "flaky")])
    workspace.apply(spec, sim)

    first = workspace.run("inspect", str(spec), "checkout-1", "--attempt", "1", "--json", sim=sim)
    assert first.exit_code == 0, first.output
    document = json.loads(first.output)
    assert document["attempt"] == 1
    assert document["run"]["run_id"] == document["attempts"][0]["run_id"]
    assert document["run"]["status"] == "failed"
    assert document["run"]["failure_reason"] == "Page did not load"
    assert document["stored_response"] is None  # the state keeps the last run's only

    missing = workspace.run("inspect", str(spec), "checkout-1", "--attempt", "5", "--offline")
    assert missing.exit_code == 2
    assert "task 'checkout-1' has no attempt 5 (its attempts: 1, 2)" in missing.output


def test_unknown_task_is_exit_2_with_near_matches(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    spec = workspace.spec([task("checkout-1", "plain"), task("checkout-2", "plain"),
                           task("search", "plain")])  # fmt: skip
    workspace.apply(spec, sim)

    result = workspace.run("inspect", str(spec), "chekout-1", sim=sim)

    assert result.exit_code == 2
    assert "no task 'chekout-1' in batch 'shop'; did you mean: checkout-1" in result.output
    assert "search" not in result.output


def test_a_task_without_a_run_says_so(simulator, workspace: Workspace):
    sim = simulator(FLAKY)
    workspace.apply(workspace.spec([task("checkout-1", "plain")]), sim)
    # A task added to the spec after the batch ran: no `apply` has submitted it.
    spec = workspace.spec([task("checkout-1", "plain"), task("checkout-2", "plain")])
    requests_before = sim.stats()["requests_total"]

    result = workspace.run("inspect", str(spec), "checkout-2", sim=sim)

    assert result.exit_code == 0, result.output
    assert "task 'checkout-2' has no run yet: it has not been submitted" in result.output
    assert sim.stats()["requests_total"] == requests_before  # nothing to ask the API about


def test_a_run_the_server_does_not_know_is_exit_2(simulator, workspace: Workspace):
    spec = workspace.spec([task("checkout-1", "plain")])
    workspace.apply(spec, simulator(FLAKY))
    elsewhere = simulator(FLAKY)  # another server: it never saw this batch's runs

    result = workspace.run("inspect", str(spec), "checkout-1", sim=elsewhere)

    assert result.exit_code == 2
    assert "does not exist on the server" in result.output
    assert "--offline" in result.output


def test_an_attempt_refused_before_a_run_existed_has_nothing_to_ask(workspace: Workspace):
    spec = workspace.spec([task("refused", "a"), task("running", "b")])
    record_unfinished_attempts(workspace, spec)

    # No key, no server: there is no run to read, so nothing is asked.
    result = workspace.run("inspect", str(spec), "refused", "--run", "crashed")

    assert result.exit_code == 0, result.output
    assert "attempt 1 has no run (not_created: HTTP 400: Invalid URL)" in result.output
    assert "refused of batch shop (run crashed): failed, 1 attempt(s)" in result.output
    assert "failure reason:    HTTP 400: Invalid URL" in result.output
