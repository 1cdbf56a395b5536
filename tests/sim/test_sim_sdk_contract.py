"""Contract test: the official Skyvern SDK (Fern client, wheel 1.0.56) against the simulator.

`make install` adds `skyvern==1.0.56` with --no-deps: `skyvern.client` needs only httpx
and pydantic, which batchrun already depends on.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from webhook_receiver import WebhookReceiver

client_module = pytest.importorskip("skyvern.client")
Skyvern = client_module.Skyvern
AsyncSkyvern = client_module.AsyncSkyvern

SCENARIO = {
    "rules": [
        {"match": {"prompt": "slow*"}, "duration": 60},
        {"match": {}, "duration": 0.05, "files": [{"name": "a.pdf", "size": 10}]},
    ]
}


def exercise(sdk: object, receiver_url: str) -> None:
    """Every endpoint batchrun uses, through the SDK, with its response types parsed."""
    task = sdk.run_task(prompt="find it", url="https://shop.test", engine="skyvern-2.0")
    assert task.run_id.startswith("tsk_v2_") and task.status == "queued"
    deadline = time.monotonic() + 10
    while (run := sdk.get_run(task.run_id)).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert run.run_type == "task_v2"
    assert run.downloaded_files[0].filename == "a.pdf"
    assert run.created_at.tzinfo is None

    slow = sdk.run_task(prompt="slow", url="https://shop.test", title="t1")
    assert sdk.cancel_run(slow.run_id) is None
    assert sdk.get_run(slow.run_id).status == "canceled"
    bulk = sdk.bulk_cancel_runs(run_ids=[slow.run_id])
    assert bulk.failed == [slow.run_id]

    listed = sdk.get_runs_v2(page=1, page_size=10)
    assert [item.run_id for item in listed] == [slow.run_id, task.run_id]
    assert listed[0].title == "t1"

    wr_id = run.app_url.rsplit("/", 1)[1]
    timeline = sdk.get_run_timeline(wr_id)
    assert timeline and timeline[0].type in ("block", "thought")
    artifacts = sdk.get_run_artifacts(wr_id, artifact_type="download")
    assert [a.artifact_type for a in artifacts] == ["download"]

    workflow = sdk.run_workflow(agent_id="wpid_1", parameters={"q": "x"})
    assert workflow.run_id.startswith("wr_")

    replay = sdk.retry_run_webhook(task.run_id, request={"webhook_url": receiver_url})
    assert replay.status_code == 200 and replay.run_type == "task_v2"
    assert sdk.get_version()["version"]


def test_the_official_sdk_drives_the_simulator(simulator):
    sim = simulator(SCENARIO)
    with WebhookReceiver() as receiver:
        exercise(Skyvern(base_url=sim.base_url, api_key=sim.api_key), receiver.url)
    forbidden = Skyvern(base_url=sim.base_url, api_key="wrong")
    # get_run declares no 403, so the Fern client raises its plain ApiError
    # (docs/skyvern-api.md §3).
    with pytest.raises(client_module.core.ApiError) as refused:
        forbidden.get_run("tsk_1")
    assert refused.value.status_code == 403
    with pytest.raises(client_module.UnprocessableEntityError):
        Skyvern(base_url=sim.base_url, api_key=sim.api_key).run_task(
            prompt="p", engine="skyvern_v2"
        )


def test_batchrun_sim_started_by_hand_answers_the_sdk(tmp_path):
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(
        "rules:\n"
        "  - match: {prompt: 'slow*'}\n    duration: 60\n"
        "  - match: {title: '*'}\n    duration: 0.05\n    files: [{name: a.pdf, size: 10}]\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "batchrun", "sim", "--port", "0", "--api-key", "hand-key",
         "--scenario", str(scenario_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        base_url = process.stdout.readline().strip()
        key_line = process.stdout.readline().strip()
        assert re.fullmatch(r"SKYVERN_BASE_URL=http://127\.0\.0\.1:\d+", base_url)
        assert key_line == "SKYVERN_API_KEY=hand-key"
        with WebhookReceiver() as receiver:
            sdk = Skyvern(base_url=base_url.split("=", 1)[1], api_key="hand-key")
            exercise(sdk, receiver.url)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
