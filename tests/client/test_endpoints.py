"""Every endpoint method against the simulator over loopback HTTP, and the error classes."""

from __future__ import annotations

import json
import socket

import pytest
from client_helpers import client_for, wait_final

from batchrun.client import (
    AuthError,
    BadRequestError,
    NotFoundError,
    RunStatus,
    RunType,
    SkyvernClient,
    TransportError,
)

pytestmark = pytest.mark.anyio

FAST = {"rules": [{"match": {"prompt": "*"}, "duration": 0.15, "steps": 2}]}


async def test_task_lifecycle_get_list_artifacts_and_webhook_replay(
    simulator, webhook_receiver
) -> None:
    sim = simulator(FAST)
    async with client_for(sim) as client:
        created = await client.run_task(
            {"prompt": "find the price", "url": "https://shop.test/item", "title": "price"}
        )
        assert created.run_id.startswith("tsk_")
        assert created.run_type is RunType.TASK_V1
        assert created.status in (RunStatus.CREATED, RunStatus.QUEUED)
        assert created.created_at is not None and created.created_at.tzinfo is not None

        done = await wait_final(client, created.run_id)
        assert done.status is RunStatus.COMPLETED and done.step_count == 2
        assert done.run_request is not None and done.run_request["prompt"] == "find the price"

        listed = await client.list_runs(
            status=["completed"], run_type=["task_v1"], search_key="price"
        )
        assert [item.run_id for item in listed] == [created.run_id]
        assert listed[0].title == "price"
        assert await client.list_runs(status=["failed"]) == []

        artifacts = await client.get_run_artifacts(created.run_id)
        assert {a.artifact_type for a in artifacts} >= {"recording", "screenshot_final"}
        screenshots = await client.get_run_artifacts(created.run_id, ["screenshot_final"])
        assert [a.artifact_type for a in screenshots] == ["screenshot_final"]
        one = await client.get_artifact(screenshots[0].artifact_id)
        assert one.artifact_id == screenshots[0].artifact_id and one.signed_url

        replay = await client.retry_run_webhook(created.run_id, webhook_receiver.url)
        assert replay.target_webhook_url == webhook_receiver.url
        assert replay.status_code == 200
        assert json.loads(webhook_receiver.bodies[-1])["run_id"] == created.run_id


async def test_skyvern_2_timeline_and_workflow_run(simulator) -> None:
    sim = simulator(FAST)
    async with client_for(sim) as client:
        v2 = await client.run_task(
            {"prompt": "summarise", "url": "https://news.test/", "engine": "skyvern-2.0"}
        )
        assert v2.run_type is RunType.TASK_V2 and v2.run_id.startswith("tsk_v2_")
        workflow = await client.run_workflow(
            {"workflow_id": "wpid_invoices", "parameters": {"month": "2026-01"}},
            headers={"x-max-steps-override": "5"},
        )
        assert workflow.run_type is RunType.WORKFLOW_RUN and workflow.run_id.startswith("wr_")
        await wait_final(client, v2.run_id)
        final = await wait_final(client, workflow.run_id)
        assert final.is_final and not final.retry_pending
        assert final.run_request is not None
        assert final.run_request["parameters"] == {"month": "2026-01"}

        timeline = await client.get_run_timeline(v2.run_id)
        assert timeline and {entry.type for entry in timeline} <= {"thought", "block"}
        with pytest.raises(BadRequestError, match="Timeline not available"):
            v1 = await client.run_task({"prompt": "p", "url": "https://a.test/"})
            await client.get_run_timeline(v1.run_id)


async def test_cancel_single_and_bulk(simulator) -> None:
    sim = simulator({"rules": [{"match": {"prompt": "slow*"}, "duration": 30}]})
    async with client_for(sim) as client:
        slow = [
            await client.run_task({"prompt": f"slow {i}", "url": "https://a.test/"})
            for i in range(3)
        ]
        await client.cancel_run(slow[0].run_id)
        assert (await client.get_run(slow[0].run_id)).status is RunStatus.CANCELED
        # Cancelling again (what a retry after a lost response does) is not an error.
        await client.cancel_run(slow[0].run_id)

        unknown = [f"tsk_{n}" for n in range(120)]
        result = await client.bulk_cancel_runs([slow[1].run_id, slow[2].run_id, *unknown])
        assert sorted(result.cancelled) == sorted([slow[1].run_id, slow[2].run_id])
        assert sorted(result.failed) == sorted(unknown)
        assert sim.stats()["requests_by_route"]["bulk_cancel"] == 2  # chunks of at most 100

        with pytest.raises(NotFoundError):
            await client.cancel_run("tsk_404")


async def test_cancelling_a_finished_task_is_a_bad_request(simulator) -> None:
    sim = simulator(FAST)
    async with client_for(sim) as client:
        run = await client.run_task({"prompt": "quick", "url": "https://a.test/"})
        await wait_final(client, run.run_id)
        with pytest.raises(BadRequestError, match="Invalid task status transition"):
            await client.cancel_run(run.run_id)


async def test_wrong_key_is_an_auth_error_everywhere(simulator) -> None:
    sim = simulator()
    async with client_for(sim, api_key="not-the-key") as client:
        with pytest.raises(AuthError) as raised:
            await client.list_runs()
        assert raised.value.status_code == 403
        with pytest.raises(AuthError):  # refused before creation: not ambiguous
            await client.run_task({"prompt": "p", "url": "https://a.test/"})
    assert sim.stats()["runs_created"] == 0


async def test_validation_errors_are_bad_requests_with_readable_detail(simulator) -> None:
    sim = simulator()
    async with client_for(sim) as client:
        with pytest.raises(BadRequestError) as raised:
            await client.run_task({"url": "https://a.test/"})
        assert raised.value.status_code == 422
        assert "body.prompt: Field required" in raised.value.detail
        with pytest.raises(BadRequestError, match="page_size"):
            await client.list_runs(page_size=500)


async def test_unknown_run_is_not_found(simulator) -> None:
    sim = simulator()
    async with client_for(sim) as client:
        with pytest.raises(NotFoundError, match="tsk_missing"):
            await client.get_run("tsk_missing")


async def test_connection_refused_is_a_transport_error_that_sent_nothing() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with SkyvernClient(f"http://127.0.0.1:{port}", "k") as client:
        with pytest.raises(TransportError) as raised:
            await client.run_task({"prompt": "p"})  # not AmbiguousSubmitError
        assert raised.value.request_sent is False
