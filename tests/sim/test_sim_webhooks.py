"""Webhooks: signed like Skyvern's, retried on 5xx, replayed synchronously on request."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from sim_helpers import api_client, wait_for
from webhook_receiver import WebhookReceiver


def signature(api_key: str, body: bytes) -> str:
    return hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()


def test_a_finished_run_posts_a_signed_compact_webhook(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.05}]}, api_key="k-123")
    with api_client(sim) as client, WebhookReceiver() as receiver:
        run_id = client.post(
            "/v1/run/tasks", json={"prompt": "p", "webhook_url": receiver.url}
        ).json()["run_id"]
        (hook,) = receiver.wait_for(1)
    body = hook["body"]
    assert hook["headers"]["x-skyvern-signature"] == signature("k-123", body)
    assert hook["headers"]["x-skyvern-timestamp"].isdigit()
    assert b", " not in body and b'": ' not in body  # compact separators
    payload = json.loads(body)
    assert payload["run_id"] == payload["task_id"] == run_id
    assert payload["status"] == "completed" and "run_request" not in payload
    # The simulator counts a delivery once the receiver has answered, a moment after it saw it.
    deadline = time.monotonic() + 5
    while sim.stats()["runs"][run_id]["webhooks_sent"] != 1:
        assert time.monotonic() < deadline, "the delivery was never counted"
        time.sleep(0.01)


def test_delivery_is_retried_on_5xx_up_to_three_attempts(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0}]})
    with api_client(sim) as client, WebhookReceiver(statuses=[503, 500, 200]) as receiver:
        client.post("/v1/run/tasks", json={"prompt": "p", "webhook_url": receiver.url})
        hooks = receiver.wait_for(3)
    assert len({h["body"] for h in hooks}) == 1  # the same delivery, re-sent
    delivery = sim.stats()["webhook_deliveries"]
    assert [(d["attempts"], d["status_code"]) for d in delivery] == [(3, 200)]


def test_a_cancel_announces_itself_once(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.3}]})
    with api_client(sim) as client, WebhookReceiver() as receiver:
        run_id = client.post(
            "/v1/run/tasks", json={"prompt": "p", "webhook_url": receiver.url}
        ).json()["run_id"]
        client.post(f"/v1/runs/{run_id}/cancel")
        receiver.wait_for(1)
        wait_for(client, run_id)
        time.sleep(0.4)  # past the scripted end: a wrongly kept second delivery would land
    assert [json.loads(h["body"])["status"] for h in receiver.received] == ["canceled"]


def test_workflow_retry_sends_an_interim_then_a_final_webhook(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.02, "retry_pending": 0.1}]})
    with api_client(sim) as client, WebhookReceiver() as receiver:
        client.post("/v1/run/agents", json={"workflow_id": "wpid_1", "webhook_url": receiver.url})
        hooks = receiver.wait_for(2)
    interim, final = (json.loads(h["body"]) for h in hooks)
    assert (interim["status"], interim["retry_pending"]) == ("failed", True)
    assert (final["status"], final["retry_pending"], final["attempt"]) == ("completed", False, 2)
    assert final["run_request"]["workflow_id"] == "wpid_1"


def test_retry_webhook_replays_synchronously_and_reports(simulator):
    sim = simulator(
        {"rules": [{"match": {"prompt": "slow"}, "duration": 60}, {"match": {}, "duration": 0}]}
    )
    with api_client(sim) as client, WebhookReceiver(statuses=[202]) as receiver:
        done = client.post("/v1/run/tasks", json={"prompt": "p"}).json()["run_id"]
        wait_for(client, done)
        report = client.post(
            f"/v1/runs/{done}/retry_webhook", json={"webhook_url": receiver.url}
        ).json()
        assert len(receiver.received) == 1  # delivered before the call returned
        assert report["status_code"] == 202 and report["error"] is None
        assert report["target_webhook_url"] == receiver.url
        assert report["default_webhook_url"] is None
        assert report["payload"].encode() == receiver.received[0]["body"]
        assert report["headers"]["x-skyvern-signature"] == signature(
            sim.api_key, report["payload"].encode()
        )
        assert isinstance(report["latency_ms"], int)

        no_target = client.post(f"/v1/runs/{done}/retry_webhook")
        assert (no_target.status_code, no_target.json()) == (
            400,
            {"detail": "No webhook URL configured for the run."},
        )
        slow = client.post("/v1/run/tasks", json={"prompt": "slow"}).json()["run_id"]
        early = client.post(f"/v1/runs/{slow}/retry_webhook", json={"webhook_url": receiver.url})
        assert early.status_code == 400
        assert "has not reached a terminal state" in early.json()["detail"]
        not_json = client.post(f"/v1/runs/{done}/retry_webhook", content=b"{x")
        assert not_json.status_code == 422
        missing = client.post("/v1/runs/tsk_0/retry_webhook", json={})
        assert missing.status_code == 404
        dead = client.post(
            f"/v1/runs/{done}/retry_webhook", json={"webhook_url": "http://127.0.0.1:9/x"}
        )
        assert (
            dead.status_code == 200 and dead.json()["error"] and dead.json()["status_code"] is None
        )
