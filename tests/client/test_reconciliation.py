"""A run-creation response lost on the wire: the attempt key finds the run, so the caller
never submits (and pays for) the same task twice; when nothing was created it says so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from client_helpers import client_for

from batchrun.client import (
    AmbiguousSubmitError,
    AuthError,
    RunListItem,
    SkyvernClient,
    new_attempt_key,
    tag_request,
)
from batchrun.scheduler.run_lookup import find_attempt_run

pytestmark = pytest.mark.anyio

NORMAL: dict[str, Any] = {"rules": [{"match": {"prompt": "*"}, "duration": 0.2}]}
LOST_AFTER_CREATE = {
    **NORMAL,
    "faults": {"drop": 1.0, "drop_after_create": 1.0, "endpoints": ["create"]},
}
LOST_BEFORE_CREATE = {
    **NORMAL,
    "faults": {"drop": 1.0, "drop_after_create": 0.0, "endpoints": ["create"]},
}


def task_key(body: dict[str, Any]) -> str:
    """The simulator's notion of "the same task" (url without fragment, and prompt)."""
    return f"{body.get('url') or ''} | {body['prompt']}"


async def lost_submit(client: SkyvernClient, body: dict[str, Any], *, kind: str) -> datetime:
    sent_at = datetime.now(UTC)
    with pytest.raises(AmbiguousSubmitError):
        if kind == "task":
            await client.run_task(body)
        else:
            await client.run_workflow(body)
    return sent_at


async def test_v1_task_found_by_the_key_in_its_title(simulator) -> None:
    sim = simulator(NORMAL)
    task = {"prompt": "download the invoice", "url": "https://billing.test/invoices"}
    key = new_attempt_key()
    async with client_for(sim) as client:
        # Neighbours the search also returns: another task's attempt, and a title that
        # merely mentions the key without being tagged with it.
        await client.run_task(
            tag_request(task | {"prompt": "other"}, kind="task", key=new_attempt_key(), label="x")
        )
        await client.run_task(
            {"prompt": "notes", "url": "https://n.test/", "title": f"about {key}"}
        )
        sim.set_scenario(LOST_AFTER_CREATE)
        body = tag_request(task, kind="task", key=key, label="invoice-7")
        sent_at = await lost_submit(client, body, kind="task")

        found = await find_attempt_run(client, kind="task", body=body, key=key, sent_at=sent_at)

        assert found is not None
        assert found.run_request is not None
        assert found.run_request["prompt"] == "download the invoice"
        listed = await client.list_runs(search_key=key)
        assert [item.title for item in listed if item.run_id == found.run_id] == [
            f"invoice-7 [{key}]"
        ]
    assert sim.stats()["creates_by_task"][task_key(task)] == 1  # found, so never re-sent


async def test_v2_tasks_on_one_url_found_by_url_window_and_prompt(simulator) -> None:
    sim = simulator(NORMAL)
    url = "https://portal.test/reports"
    january = {"prompt": "download january", "url": url, "engine": "skyvern-2.0"}
    february = {"prompt": "download february", "url": url, "engine": "skyvern-2.0"}
    async with client_for(sim) as client:
        earlier = await client.run_task(january)  # an earlier, known attempt of the same task
        await anyio.sleep(0.01)
        sim.set_scenario(LOST_AFTER_CREATE)
        keys = {"jan": new_attempt_key(), "feb": new_attempt_key()}
        jan_body = tag_request(january, kind="task", key=keys["jan"], label="jan")
        feb_body = tag_request(february, kind="task", key=keys["feb"], label="feb")
        assert jan_body == january  # skyvern-2.0 ignores titles: nothing to tag
        sent_at = await lost_submit(client, jan_body, kind="task")
        await lost_submit(client, feb_body, kind="task")

        found_jan = await find_attempt_run(
            client,
            kind="task",
            body=jan_body,
            key=keys["jan"],
            sent_at=sent_at,
            exclude_run_ids=[earlier.run_id],
        )
        found_feb = await find_attempt_run(
            client,
            kind="task",
            body=feb_body,
            key=keys["feb"],
            sent_at=sent_at,
            exclude_run_ids=[earlier.run_id],
        )
        # The creation window alone also keeps the earlier run out.
        windowed = await find_attempt_run(
            client, kind="task", body=jan_body, key=keys["jan"], sent_at=sent_at, skew=timedelta(0)
        )

    assert found_jan is not None and found_feb is not None
    assert found_jan.run_request["prompt"] == "download january"  # type: ignore[index]
    assert found_feb.run_request["prompt"] == "download february"  # type: ignore[index]
    assert len({earlier.run_id, found_jan.run_id, found_feb.run_id}) == 3
    assert windowed is not None and windowed.run_id == found_jan.run_id
    creates = sim.stats()["creates_by_task"]
    assert creates[task_key(january)] == 2 and creates[task_key(february)] == 1


async def test_v2_task_without_url_found_among_recent_runs(simulator) -> None:
    sim = simulator(LOST_AFTER_CREATE)
    body = {"prompt": "find the cheapest flight to Oslo", "engine": "skyvern-2.0"}
    async with client_for(sim) as client:
        sent_at = await lost_submit(client, body, kind="task")
        found = await find_attempt_run(client, kind="task", body=body, key="br-x", sent_at=sent_at)
    assert found is not None
    assert found.run_request["prompt"] == body["prompt"]  # type: ignore[index]


async def test_workflow_run_found_by_its_run_tag(simulator) -> None:
    sim = simulator(NORMAL)
    workflow = {"workflow_id": "wpid_export", "parameters": {"month": "2026-01"}}
    async with client_for(sim) as client:
        # Same workflow and parameters, another attempt: only the tag tells them apart.
        other = await client.run_workflow(
            tag_request(workflow, kind="workflow", key=new_attempt_key(), label="w")
        )
        sim.set_scenario(LOST_AFTER_CREATE)
        key = new_attempt_key()
        body = tag_request(workflow, kind="workflow", key=key, label="w")
        sent_at = await lost_submit(client, body, kind="workflow")
        found = await find_attempt_run(client, kind="workflow", body=body, key=key, sent_at=sent_at)
    assert found is not None and found.run_id != other.run_id
    assert found.run_id.startswith("wr_")
    assert sim.stats()["runs_created"] == 2


class TaglessClient(SkyvernClient):
    """Cloud organizations without workflow tagging answer 403 to a `tags` filter
    (docs/skyvern-api.md §9).

    The simulator always supports tags, so this stands in for that one server answer."""

    async def list_runs(self, *, tags: Sequence[str] = (), **kwargs: Any) -> list[RunListItem]:
        if tags:
            raise AuthError(
                "Workflow tagging is not enabled for this organization.", status_code=403
            )
        return await super().list_runs(**kwargs)


async def test_workflow_run_found_by_parameters_when_tags_are_refused(simulator) -> None:
    sim = simulator(NORMAL)
    async with TaglessClient(sim.base_url, sim.api_key) as client:
        await client.run_workflow(
            {"workflow_id": "wpid_export", "parameters": {"month": "2026-02"}}
        )
        sim.set_scenario(LOST_AFTER_CREATE)
        key = new_attempt_key()
        body = tag_request(
            {"workflow_id": "wpid_export", "parameters": {"month": "2026-01"}},
            kind="workflow",
            key=key,
            label="w",
        )
        sent_at = await lost_submit(client, body, kind="workflow")
        found = await find_attempt_run(client, kind="workflow", body=body, key=key, sent_at=sent_at)
    assert found is not None
    assert found.run_request["parameters"] == {"month": "2026-01"}  # type: ignore[index]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("task", {"prompt": "p", "url": "https://a.test/x"}),
        ("task", {"prompt": "p", "url": "https://a.test/x", "engine": "skyvern-2.0"}),
        ("workflow", {"workflow_id": "wpid_export", "parameters": {"month": "2026-01"}}),
    ],
)
async def test_a_request_dropped_before_creation_is_found_nowhere(
    simulator, kind: str, body: dict[str, Any]
) -> None:
    sim = simulator(LOST_BEFORE_CREATE)
    key = new_attempt_key()
    tagged = tag_request(body, kind=kind, key=key, label="t")  # type: ignore[arg-type]
    async with client_for(sim) as client:
        sent_at = await lost_submit(client, tagged, kind=kind)
        found = await find_attempt_run(
            client,
            kind=kind,
            body=tagged,
            key=key,
            sent_at=sent_at,  # type: ignore[arg-type]
        )
        assert found is None
        # Now (and only now) submitting again is safe; it creates the one and only run.
        sim.set_scenario(NORMAL)
        if kind == "task":
            await client.run_task(tagged)
        else:
            await client.run_workflow(tagged)
    assert sim.stats()["runs_created"] == 1
