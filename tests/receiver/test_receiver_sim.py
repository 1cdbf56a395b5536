"""End to end with the project's simulator: it signs and delivers webhooks as Skyvern does."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from receiver_helpers import Recorder, Warnings
from webhook_receiver import WebhookReceiver as Endpoint

from batchrun.receiver import WebhookReceiver, serve_receiver

pytestmark = pytest.mark.anyio

FAST = {"rules": [{"match": {"prompt": "slow"}, "duration": 60}, {"match": {}, "duration": 0.05}]}


@asynccontextmanager
async def api(sim: Any) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-api-key": sim.api_key}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers, timeout=10) as client:
        yield client


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """For counters that have no event to await: the receiver's refusal counts."""
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


@asynccontextmanager
async def receiving(sim: Any, **kwargs: Any) -> AsyncIterator[tuple[WebhookReceiver, Recorder]]:
    recorder = Recorder()
    kwargs.setdefault("api_key", sim.api_key)
    kwargs.setdefault("on_warning", Warnings())
    async with serve_receiver(on_delivery=recorder, **kwargs) as receiver:
        yield receiver, recorder


async def test_a_finished_task_run_calls_back_final(simulator):
    sim = simulator(FAST)
    async with receiving(sim) as (receiver, recorder), api(sim) as client:
        created = await client.post(
            "/v1/run/tasks", json={"prompt": "p", "webhook_url": receiver.url}
        )
        run_id = created.json()["run_id"]
        await recorder.wait_for(1)
    ((got_id, payload, final),) = recorder.calls
    assert (got_id, final, payload["status"]) == (run_id, True, "completed")
    assert receiver.stats.accepted == 1 and receiver.stats.refused_total == 0


async def test_a_workflow_retry_calls_back_interim_then_final(simulator):
    sim = simulator({"rules": [{"match": {}, "duration": 0.02, "retry_pending": 0.1}]})
    async with receiving(sim) as (receiver, recorder), api(sim) as client:
        created = await client.post(
            "/v1/run/agents", json={"workflow_id": "wpid_1", "webhook_url": receiver.url}
        )
        run_id = created.json()["run_id"]
        await recorder.wait_for(2)
    assert recorder.summary == [(run_id, False), (run_id, True)]
    interim, final = (payload for _, payload, _ in recorder.calls)
    assert (interim["status"], interim["retry_pending"]) == ("failed", True)
    assert (final["status"], final["attempt"]) == ("completed", 2)


async def test_a_canceled_run_calls_back_final(simulator):
    sim = simulator(FAST)
    async with receiving(sim) as (receiver, recorder), api(sim) as client:
        created = await client.post(
            "/v1/run/tasks", json={"prompt": "slow", "webhook_url": receiver.url}
        )
        run_id = created.json()["run_id"]
        await client.post(f"/v1/runs/{run_id}/cancel")
        await recorder.wait_for(1)
    assert [(r, p["status"], f) for r, p, f in recorder.calls] == [(run_id, "canceled", True)]


async def test_deliveries_signed_with_another_key_are_refused(simulator):
    sim = simulator(FAST, api_key="the-real-key")
    async with receiving(sim, api_key="a-stale-key") as (receiver, recorder), api(sim) as client:
        await client.post("/v1/run/tasks", json={"prompt": "p", "webhook_url": receiver.url})
        await until(lambda: receiver.stats.refused_total >= 1)
    assert recorder.calls == [] and receiver.stats.refused == {"signature": 1}


async def test_a_relayed_delivery_still_verifies_with_the_api_key(simulator):
    sim = simulator(FAST)
    with Endpoint() as endpoint:
        async with receiving(sim, relay_target=lambda _: endpoint.url) as (receiver, recorder):
            async with api(sim) as client:
                await client.post(
                    "/v1/run/tasks", json={"prompt": "p", "webhook_url": receiver.url}
                )
            await recorder.wait_for(1)
        # Leaving the block waited for the relay.
        (relayed,) = endpoint.received
    headers = {name.lower(): value for name, value in relayed["headers"].items()}
    expected = hmac.new(sim.api_key.encode(), relayed["body"], hashlib.sha256).hexdigest()
    assert headers["x-skyvern-signature"] == expected
    assert json.loads(relayed["body"]) == recorder.calls[0][1]
    assert receiver.stats.relayed == 1
