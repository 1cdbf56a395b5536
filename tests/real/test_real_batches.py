"""Batches through `batchrun apply` (a real subprocess) against a Skyvern server.

Each scenario is its own small spec. Every test runs twice: against the simulator (part of
`make test`) and against the real open-source server (`make test-real`); the few checks
that need a real browser are guarded by `backend.has_browser`. Prompts carry the scripted
LLM's directives (FAKE_LLM:TERMINATE, :ERROR, :SLOW=<s>); the simulator scripts the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
import uuid
from typing import Any

from real_backends import SITE_HEADING, SITE_TITLE, Backend
from real_workspace import RealWorkspace, wait_until
from webhook_receiver import WebhookReceiver

from batchrun.client.models import artifact_owner_id

TITLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"page_title": {"type": "string"}, "heading": {"type": "string"}},
    "required": ["page_title"],
}
EXTRACT_PROMPT = "Extract the page title and the main heading of the page."
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def token() -> str:
    """Unique per test: task ids and urls carry it, so the server's run list can be searched
    for exactly this test's runs (the servers live for the whole session)."""
    return uuid.uuid4().hex[:10]


def v2_url(backend: Backend, tok: str) -> str:
    # skyvern-2.0 ignores `title`; its runs are found in the list by url (docs/skyvern-api.md §9).
    return f"{backend.site_url}?case={tok}"


def only_run(backend: Backend, search_key: str) -> dict[str, Any]:
    runs = backend.listed_runs(search_key)
    assert len(runs) == 1, runs
    return runs[0]


def test_completed_task_has_its_extracted_output(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    spec = workspace.spec(
        "extract",
        [
            {
                "id": f"title-{tok}",
                "engine": "skyvern-2.0",
                "title": f"Our own title {tok}",
                "url": v2_url(backend, tok),
                "prompt": EXTRACT_PROMPT,
                "data_extraction_schema": TITLE_SCHEMA,
            }
        ],
    )
    done = workspace.apply(spec)
    assert done.returncode == 0, done.stdout + done.stderr
    row = workspace.outputs("extract")[f"title-{tok}"]
    assert (row["status"], row["output_verdict"], row["attempts"]) == ("succeeded", "valid", 1)
    assert isinstance(row["output"]["page_title"], str)
    if backend.has_browser:
        assert row["output"] == {"page_title": SITE_TITLE, "heading": SITE_HEADING}
    listed = only_run(backend, tok)
    assert (listed["run_id"], listed["task_run_type"]) == (row["run_id"], "task_v2")
    # skyvern-2.0 lists the title of the workflow it generated, never the one we sent.
    assert tok not in (listed["title"] or "")


def test_terminated_task_is_not_retried(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    spec = workspace.spec(
        "terminate",
        [
            {
                "id": f"term-{tok}",
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open it. FAKE_LLM:TERMINATE",
            }
        ],
        retry={"attempts": 3, "on": ["failed"], "backoff": {"initial": "1s", "max": "1s"}},
    )
    done = workspace.apply(spec)
    assert done.returncode == 1, done.stdout + done.stderr
    row = workspace.outputs("terminate")[f"term-{tok}"]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "terminate" in row["failure_reason"].lower()
    listed = only_run(backend, tok)
    assert (listed["run_id"], listed["status"]) == (row["run_id"], "terminated")


def test_failing_task_is_retried_to_the_policy_limit(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    spec = workspace.spec(
        "retry",
        [
            {
                "id": f"err-{tok}",
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open it. FAKE_LLM:ERROR",
            }
        ],
        retry={"attempts": 2, "on": ["failed"], "backoff": {"initial": "1s", "max": "1s"}},
    )
    done = workspace.apply(spec)
    assert done.returncode == 1, done.stdout + done.stderr
    row = workspace.outputs("retry")[f"err-{tok}"]
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert row["failure_reason"].endswith("(after 2 attempts)")
    runs = backend.listed_runs(tok)
    assert sorted(run["status"] for run in runs) == ["failed", "failed"]
    assert row["run_id"] in {run["run_id"] for run in runs}


def test_slow_task_is_canceled_by_batchrun_cancel(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    task = f"slow-{tok}"
    spec = workspace.spec(
        "cancel",
        [
            {
                "id": task,
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open it. FAKE_LLM:SLOW=30 slowly",
            }
        ],
    )
    apply = workspace.apply_process(spec)
    run_id = workspace.wait_for_runs("cancel", [task], apply)[task]
    canceled = workspace.batchrun("cancel", spec)
    assert canceled.returncode == 0, canceled.stdout + canceled.stderr
    assert "canceled 1 run(s) in flight" in canceled.stdout
    stdout, stderr = apply.communicate(timeout=backend.run_timeout_s)
    assert apply.returncode == 1, stdout + stderr
    row = workspace.outputs("cancel")[task]
    assert (row["status"], row["run_id"]) == ("canceled", run_id)
    assert backend.get_run(run_id)["status"] == "canceled"


def test_attempt_timeout_cancels_the_remote_run(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    task = f"late-{tok}"
    spec = workspace.spec(
        "timeout",
        [
            {
                "id": task,
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open it. FAKE_LLM:SLOW=30 slowly",
            }
        ],
        timeout="4s",
    )
    done = workspace.apply(spec)
    assert done.returncode == 1, done.stdout + done.stderr
    row = workspace.outputs("timeout")[task]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "timeout of 4s" in row["failure_reason"]
    assert backend.get_run(row["run_id"])["status"] == "canceled"


def test_apply_killed_mid_run_resumes_without_a_second_run(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    v1_task, v2_task = f"kill-{tok}", f"kill2-{tok}"
    spec = workspace.spec(
        "resume",
        [
            {
                "id": v1_task,
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open it. FAKE_LLM:SLOW=4 then",
            },
            {
                "id": v2_task,
                "engine": "skyvern-2.0",
                "url": v2_url(backend, tok),
                "prompt": f"{EXTRACT_PROMPT} FAKE_LLM:SLOW=4 then",
            },
        ],
    )
    first = workspace.apply_process(spec)
    run_ids = workspace.wait_for_runs("resume", [v1_task, v2_task], first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    again = workspace.apply(spec)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "re-attached" in again.stdout
    rows = workspace.outputs("resume")
    for task, run_id in run_ids.items():
        assert (rows[task]["status"], rows[task]["attempts"]) == ("succeeded", 1)
        assert rows[task]["run_id"] == run_id
    # The server's own list: one run per task. The v1 run is found by its title (the task
    # id is in it), the v2 run by its url; both searches match only this test's runs.
    assert only_run(backend, v1_task)["run_id"] == run_ids[v1_task]
    assert only_run(backend, f"case={tok}")["run_id"] == run_ids[v2_task]


def test_artifacts_and_screenshots_are_exported(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    v1_task, v2_task = f"shots-{tok}", f"shots2-{tok}"
    spec = workspace.spec(
        "artifacts",
        [
            {
                "id": v1_task,
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open the page.",
            },
            {
                "id": v2_task,
                "engine": "skyvern-2.0",
                "url": v2_url(backend, tok),
                "prompt": EXTRACT_PROMPT,
            },
        ],
        export={"screenshots": True},
    )
    done = workspace.apply(spec)
    assert done.returncode == 0, done.stdout + done.stderr
    # The server gives file:// links: the bytes come through the artifact-content endpoint.
    v2_shot = workspace.task_file("artifacts", v2_task, "artifacts/screenshot_final-1.png")
    assert v2_shot.read_bytes().startswith(PNG_MAGIC)
    # Listed a moment after the run reads final: apply waits for it.
    v1_shot = workspace.task_file("artifacts", v1_task, "artifacts/screenshot_final-1.png")
    assert v1_shot.read_bytes().startswith(PNG_MAGIC)
    rows = workspace.outputs("artifacts")
    owners = [artifact_owner_id(rows[t]["run_id"], rows[t]["app_url"]) for t in (v1_task, v2_task)]
    for owner in owners:  # see Backend.artifacts_readable: recordings are finished late
        wait_until(lambda o=owner: backend.artifacts_readable(o, "recording"), 60, "a recording")
    fetched = workspace.batchrun(
        "artifacts", spec, "--type", "screenshot_final", "--type", "recording"
    )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    for task in (v1_task, v2_task):
        shot = workspace.task_file("artifacts", task, "artifacts/screenshot_final-1.png")
        assert shot.read_bytes().startswith(PNG_MAGIC), task
        [recording] = workspace.task_file("artifacts", task, "artifacts").glob("recording-1.*")
        assert recording.stat().st_size > 0


def test_failed_task_keeps_its_timeline(workspace: RealWorkspace) -> None:
    backend, tok = workspace.backend, token()
    task = f"tl-{tok}"
    spec = workspace.spec(
        "timeline",
        [
            {
                "id": task,
                "engine": "skyvern-2.0",
                "url": v2_url(backend, tok),
                "prompt": f"{EXTRACT_PROMPT} FAKE_LLM:TERMINATE",
            }
        ],
    )
    done = workspace.apply(spec)
    assert done.returncode == 1, done.stdout + done.stderr
    row = workspace.outputs("timeline")[task]
    assert row["status"] == "failed"
    assert backend.get_run(row["run_id"])["status"] == "terminated"
    timeline = json.loads(workspace.task_file("timeline", task, "timeline.json").read_text())
    assert timeline and {entry["type"] for entry in timeline} <= {"thought", "block"}
    thoughts = [entry["thought"] for entry in timeline if entry["type"] == "thought"]
    assert thoughts and all(t["workflow_run_id"] in row["app_url"] for t in thoughts)


def test_webhooks_are_signed_with_the_api_key(
    workspace: RealWorkspace, webhook_receiver: WebhookReceiver
) -> None:
    backend, tok = workspace.backend, token()
    spec = workspace.spec(
        "webhook",
        [
            # skyvern-1.0 signs with the submitter's key, skyvern-2.0 with the org's key
            # from the database (docs/skyvern-api.md §14); locally they are the same key.
            {
                "id": f"hook-{tok}",
                "engine": "skyvern-1.0",
                "url": backend.site_url,
                "prompt": "Open the page.",
            },
            {
                "id": f"hook2-{tok}",
                "engine": "skyvern-2.0",
                "url": v2_url(backend, tok),
                "prompt": EXTRACT_PROMPT,
            },
        ],
        defaults={"proxy_location": "NONE", "webhook_url": webhook_receiver.url},
    )
    done = workspace.apply(spec)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = workspace.outputs("webhook")
    wait_until(lambda: len(webhook_receiver.received) >= 2, 30, "two webhooks")
    time.sleep(0.5)  # a duplicate delivery would show up now
    by_run: dict[str, dict[str, Any]] = {}
    for delivery in webhook_receiver.received:
        body: bytes = delivery["body"]
        expected = hmac.new(backend.api_key.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(delivery["headers"]["x-skyvern-signature"], expected)
        payload = json.loads(body)
        by_run[payload["run_id"]] = payload
    assert set(by_run) == {row["run_id"] for row in rows.values()}
    assert {payload["status"] for payload in by_run.values()} == {"completed"}
