"""Every kind of response body the simulator produces validates against Skyvern's OpenAPI.

The document (`../shared/skyvern-openapi.json`, Fern's source spec) is older than wheel
1.0.56, so only run types and artifact types it knows are exercised here; newer fields are
extra properties, which its schemas allow.
"""

from __future__ import annotations

import pytest
from sim_helpers import (
    OPENAPI_PATH,
    api_client,
    component,
    response_schema,
    validate,
    wait_for,
)
from webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.skipif(not OPENAPI_PATH.exists(), reason="no OpenAPI document")

SCENARIO = {
    "rules": [
        {"match": {"prompt": "*fail*"}, "outcomes": ["failed"], "duration": 0.05},
        {"match": {"prompt": "slow*"}, "outcomes": ["completed"], "duration": 30},
        {
            "match": {"title": "*"},
            "outcomes": ["completed"],
            "duration": 0.05,
            "steps": 3,
            "files": [{"name": "invoice.pdf", "size": 300}],
        },
    ]
}
SCHEMA = {"type": "object", "properties": {"total": {"type": "number"}}}


def test_every_response_kind_validates(simulator):
    sim = simulator(SCENARIO)
    with api_client(sim) as client, WebhookReceiver() as receiver:
        created = {}
        for engine in ("skyvern-1.0", "skyvern-2.0", "openai-cua"):
            body = {"prompt": "read", "url": "https://shop.test/a", "engine": engine}
            response = client.post("/v1/run/tasks", json={**body, "data_extraction_schema": SCHEMA})
            validate(response_schema("/v1/run/tasks", "post"), response.json())
            created[engine] = response.json()
        workflow = client.post(
            "/v1/run/agents",
            json={"workflow_id": "wpid_1", "parameters": {"q": "x"}, "run_metadata": {"job": "j"}},
        ).json()
        validate(response_schema("/v1/run/agents", "post"), workflow)
        failing = client.post("/v1/run/tasks", json={"prompt": "please fail"}).json()
        slow = client.post("/v1/run/tasks", json={"prompt": "slow", "title": "t"}).json()
        assert client.post(f"/v1/runs/{slow['run_id']}/cancel").json() is None

        v2 = created["skyvern-2.0"]
        wr_id = v2["app_url"].rsplit("/", 1)[1]
        finished = [*created.values(), workflow, failing]
        for run in finished:
            validate(response_schema("/v1/runs/{run_id}"), wait_for(client, run["run_id"]))
        validate(
            response_schema("/v1/runs/{run_id}"), client.get(f"/v1/runs/{slow['run_id']}").json()
        )
        validate(response_schema("/v1/runs/{run_id}"), client.get(f"/v1/runs/{wr_id}").json())

        listed = client.get("/v1/runs", params={"page_size": 100}).json()
        assert len(listed) == 6
        validate(response_schema("/v1/runs"), listed)

        for run_id in (wr_id, v2["run_id"], workflow["run_id"]):
            timeline = client.get(f"/v1/runs/{run_id}/timeline").json()
            assert len(timeline) == 3
            validate(response_schema("/v1/runs/{run_id}/timeline"), timeline)

        for run_id in (created["skyvern-1.0"]["run_id"], wr_id, workflow["run_id"]):
            artifacts = client.get(f"/v1/runs/{run_id}/artifacts").json()
            kinds = {a["artifact_type"] for a in artifacts}
            assert kinds == {"recording", "screenshot_final", "download"}
            validate(response_schema("/v1/runs/{run_id}/artifacts"), artifacts)
            one = client.get(f"/v1/artifacts/{artifacts[0]['artifact_id']}").json()
            validate(component("Artifact"), one)

        bulk = client.post("/v1/runs/cancel", json={"run_ids": [slow["run_id"], "tsk_1"]}).json()
        validate(response_schema("/v1/runs/cancel", "post"), bulk)

        replay = client.post(
            f"/v1/runs/{created['skyvern-1.0']['run_id']}/retry_webhook",
            json={"webhook_url": receiver.url},
        ).json()
        assert replay["status_code"] == 200
        validate(response_schema("/v1/runs/{run_id}/retry_webhook", "post"), replay)

        validate(response_schema("/v1/version"), client.get("/v1/version").json())
        invalid = client.post("/v1/run/tasks", json={"url": 3})
        assert invalid.status_code == 422
        validate(response_schema("/v1/run/tasks", "post", "422"), invalid.json())
