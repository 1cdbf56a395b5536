"""`batchrun webhooks replay`: the morning after the receiving endpoint was down."""

from __future__ import annotations

import json

from runs_workspace import record_unfinished_attempts, task
from webhook_receiver import WebhookReceiver, signature_ok
from workspace import Workspace

# One delivery per finished run (no automatic retries), so the receiver's log stays readable.
SCENARIO = {
    "rules": [
        {"match": {"url": "*/broken"}, "outcomes": ["failed"], "duration": 0.1,
         "failure_reason": "Checkout button missing"},
        {"match": {"url": "*"}, "duration": 0.1},
    ],
    "webhook_attempts": 1,
}  # fmt: skip


def _replay_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("  ")]


def test_replay_reports_the_failure_then_delivers_once_the_receiver_is_back(
    simulator, workspace: Workspace, receiver: WebhookReceiver
):
    sim = simulator(SCENARIO)
    spec = workspace.spec([task("checkout-1", "a", webhook_url=receiver.url)])
    workspace.apply(spec, sim)

    # Night: the receiver is down, and so is a replay's delivery.
    down = workspace.run("webhooks", "replay", str(spec), sim=sim)
    assert down.exit_code == 1, down.output
    [line] = _replay_lines(down.output)
    assert "checkout-1  tsk_v2_" in line and f"completed  -> {receiver.url}  500 in " in line
    assert line.endswith("FAILED: receiver is down")
    assert "1 webhook(s) replayed: 0 delivered, 1 failed" in down.output

    # Morning: it is back; the same command now delivers.
    receiver.down = False
    up = workspace.run("webhooks", "replay", str(spec), sim=sim)
    assert up.exit_code == 0, up.output
    [line] = _replay_lines(up.output)
    assert "200 in " in line and line.endswith("ms: delivered")
    assert "1 webhook(s) replayed: 1 delivered, 0 failed" in up.output

    delivered = [r for r in receiver.requests if r.answered == 200]
    assert len(delivered) == 1
    payload = json.loads(delivered[0].body)
    assert payload["status"] == "completed" and payload["run_id"].startswith("tsk_v2_")
    # Every delivery, first or replayed, is signed with the API key over the raw body.
    assert receiver.requests and all(signature_ok(r, sim.api_key) for r in receiver.requests)
    assert not signature_ok(delivered[0], "another-key")


def test_status_filter_and_url_override(simulator, workspace: Workspace, receiver: WebhookReceiver):
    sim = simulator(SCENARIO)
    receiver.down = False
    spec = workspace.spec(
        [
            task("checkout-1", "broken", webhook_url="https://hooks.example/never"),
            task("checkout-2", "fine", webhook_url="https://hooks.example/never"),
        ]
    )
    workspace.apply(spec, sim)
    before = len(receiver.requests)

    result = workspace.run("webhooks", "replay", str(spec), "--status", "failed",
                           "--url", receiver.url, sim=sim)  # fmt: skip

    assert result.exit_code == 0, result.output
    [line] = _replay_lines(result.output)
    assert line.startswith("  checkout-1  ") and f"failed  -> {receiver.url}  200" in line
    assert "1 task(s) with another status" in result.output
    [replayed] = receiver.requests[before:]
    assert json.loads(replayed.body)["failure_reason"] == "Checkout button missing"


def test_a_run_without_webhook_url_is_reported_not_sent(simulator, workspace: Workspace):
    sim = simulator(SCENARIO)
    spec = workspace.spec([task("checkout-1", "a")])
    workspace.apply(spec, sim)

    result = workspace.run("webhooks", "replay", str(spec), "--only", "checkout-*", sim=sim)

    assert result.exit_code == 1
    [line] = _replay_lines(result.output)
    assert "no answer: FAILED: not sent: HTTP 400: No webhook URL" in line


def test_tasks_without_a_finished_run_are_skipped(simulator, workspace: Workspace):
    sim = simulator(SCENARIO)
    workspace.apply(workspace.spec([task("checkout-1", "a")]), sim)
    spec = workspace.spec([task("checkout-1", "a"), task("checkout-2", "b")])

    result = workspace.run("webhooks", "replay", str(spec), "--only", "checkout-2", sim=sim)

    assert result.exit_code == 0, result.output
    assert _replay_lines(result.output) == []
    assert "0 webhook(s) replayed: 0 delivered, 0 failed; 1 task(s) without a run yet" in (
        result.output
    )


def test_bad_status_and_unreachable_api(simulator, workspace: Workspace):
    sim = simulator(SCENARIO)
    spec = workspace.spec([task("checkout-1", "a")])
    workspace.apply(spec, sim)

    bad = workspace.run("webhooks", "replay", str(spec), "--status", "running", sim=sim)
    assert bad.exit_code == 2
    assert "'running' is not one of" in bad.output

    sim.stop()
    gone = workspace.run("webhooks", "replay", str(spec), sim=sim)
    assert gone.exit_code == 3
    assert "batchrun: error: cannot reach the Skyvern API at" in gone.output


def test_a_run_still_going_is_skipped_not_replayed(simulator, workspace: Workspace):
    sim = simulator(SCENARIO)
    spec = workspace.spec([task("refused", "a"), task("running", "b")])
    record_unfinished_attempts(workspace, spec)

    result = workspace.run("webhooks", "replay", str(spec), "--run", "crashed", sim=sim)

    assert result.exit_code == 0, result.output
    assert "0 webhook(s) replayed: 0 delivered, 0 failed; 1 task(s) still running; " in (
        result.output
    )
    assert "1 task(s) without a run yet" in result.output
    assert sim.stats()["requests_by_route"].get("retry_webhook") is None
