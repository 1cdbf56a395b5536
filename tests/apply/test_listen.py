"""`apply --listen`: run ends pushed by webhook, relayed to a spec's own webhook_url, and
polling as the fallback when no delivery comes."""

from __future__ import annotations

import json
import socket

from webhook_receiver import WebhookReceiver

from batchrun.state import open_store

from .conftest import Workspace

TASKS = 6
# Polls start at 0.05 s; backing off to 2 s they are few once the webhook tells of the end.
POLL = {"interval": "0.05s", "max_interval": "2s"}


def _tasks(**extra: str) -> list[dict[str, str]]:
    return [
        {"id": f"t{i}", "prompt": "Price", "url": f"https://shop.example/{i}", **extra}
        for i in range(TASKS)
    ]


def _scenario() -> dict:
    return {"rules": [{"match": {"url": "*"}, "duration": 0.8}]}


def _summary(workspace: Workspace, name: str = "batch") -> dict:
    newest = max((workspace.results / name).iterdir(), key=lambda path: path.stat().st_mtime)
    return json.loads((newest / "summary.json").read_text())


def _reads(stats: dict) -> int:
    return stats["requests_by_route"].get("get", 0) + stats["requests_by_route"].get("list", 0)


def test_listening_takes_far_fewer_reads_than_polling(simulator, tmp_path):
    polled, pushed = Workspace(tmp_path / "polled"), Workspace(tmp_path / "pushed")
    polled.root.mkdir()
    pushed.root.mkdir()
    by_polling, by_push = simulator(_scenario()), simulator(_scenario())
    spec = polled.spec(_tasks(), concurrency=3, poll=POLL)
    assert polled.apply(spec, by_polling).exit_code == 0
    spec = pushed.spec(_tasks(), concurrency=3, poll=POLL)
    result = pushed.apply(spec, by_push, "--listen", "127.0.0.1:0")
    assert result.exit_code == 0, result.output

    with_polls, with_push = by_polling.stats(), by_push.stats()
    assert with_push["runs_created"] == with_polls["runs_created"] == TASKS
    assert len(with_push["webhook_deliveries"]) >= TASKS
    assert _reads(with_push) * 3 <= _reads(with_polls)
    assert _reads(with_push) <= 2 * TASKS  # about one read per run, when its webhook came
    assert _summary(pushed)["webhooks"]["accepted"] == TASKS

    # Listening elsewhere changes no task: nothing runs again.
    assert pushed.apply(spec, by_push, "--listen", "0").exit_code == 0
    assert by_push.stats()["runs_created"] == TASKS


def test_a_spec_webhook_url_still_gets_its_delivery(simulator, workspace: Workspace):
    sim = simulator(_scenario())
    with WebhookReceiver() as own:
        spec = workspace.spec(_tasks(webhook_url=own.url), concurrency=3, poll=POLL)
        result = workspace.apply(spec, sim, "--listen", "127.0.0.1:0")
        assert result.exit_code == 0, result.output
        received = own.wait_for(TASKS)
    run_ids = {json.loads(delivery["body"])["run_id"] for delivery in received}
    assert len(run_ids) == TASKS
    assert all(delivery["headers"].get("x-skyvern-signature") for delivery in received)
    assert _summary(workspace)["webhooks"]["relayed"] == TASKS

    # The state keeps the spec's webhook_url; only the request sent named the receiver.
    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None
    [attempt] = store.attempts_for_task(batch.id, "t0")
    assert attempt.request["webhook_url"] == own.url
    sent = [d["url"] for d in sim.stats()["webhook_deliveries"]]
    assert sent and all("/hooks/" in url for url in sent)


def test_without_deliveries_polling_finishes_the_batch(simulator, workspace: Workspace):
    with socket.socket() as dead:  # a port nobody listens on once closed
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
    sim = simulator(_scenario())
    spec = workspace.spec(
        _tasks(), concurrency=3, poll={"interval": "0.05s", "max_interval": "0.2s"}
    )
    result = workspace.apply(
        spec, sim, "--listen", "127.0.0.1:0", "--public-url", f"http://127.0.0.1:{port}"
    )
    assert result.exit_code == 0, result.output
    assert _summary(workspace)["succeeded"] == TASKS
    assert _summary(workspace)["webhooks"]["accepted"] == 0


def test_a_non_loopback_listen_address_needs_a_public_url(simulator, workspace: Workspace):
    sim = simulator(_scenario())
    spec = workspace.spec(_tasks(), poll=POLL)
    result = workspace.apply(spec, sim, "--listen", "0.0.0.0:0")
    assert result.exit_code == 2
    assert "--public-url" in result.output
    assert sim.stats()["runs_created"] == 0
