"""`defaults` under every task: the task's own value wins, mappings merge key by key,
defaults of the other kind are skipped, and errors point where the value was written."""

from __future__ import annotations

from pathlib import Path

from spec_helpers import issues_of, load_text

SPEC = """\
name: merge
defaults:
  engine: skyvern_v1
  max_steps: 12
  proxy_location: RESIDENTIAL_GB
  extra_http_headers: {Accept-Language: en-GB, X-Team: data}
  error_code_mapping: {blocked: The site blocks us}
  parameters: {region: eu}
  run_metadata: {team: data}
tasks:
  - id: plain
    prompt: Say hello
  - id: own-values
    prompt: Say hello
    engine: skyvern-2.0
    max_steps: 30
    extra_http_headers: {X-Team: growth, X-Extra: "1"}
  - id: removes-proxy
    prompt: Say hello
    proxy_location: null
  - id: wf
    workflow_id: wpid_1
    parameters: {week: "2026-W01"}
"""


def test_a_task_inherits_every_default_of_its_kind(tmp_path: Path) -> None:
    body = load_text(tmp_path, SPEC).tasks[0].request_for_attempt(1).body
    assert body == {
        "prompt": "Say hello",
        "engine": "skyvern-1.0",  # SDK spelling in, wire value out
        "error_code_mapping": {"blocked": "The site blocks us"},
        "proxy_location": "RESIDENTIAL_GB",
        "max_steps": 12,
        "extra_http_headers": {"Accept-Language": "en-GB", "X-Team": "data"},
    }


def test_own_values_win_and_mappings_merge_key_by_key(tmp_path: Path) -> None:
    body = load_text(tmp_path, SPEC).tasks[1].request_for_attempt(1).body
    assert body["engine"] == "skyvern-2.0"
    assert body["max_steps"] == 30
    assert body["extra_http_headers"] == {
        "Accept-Language": "en-GB",
        "X-Team": "growth",
        "X-Extra": "1",
    }


def test_an_explicit_null_drops_the_default(tmp_path: Path) -> None:
    body = load_text(tmp_path, SPEC).tasks[2].request_for_attempt(1).body
    assert "proxy_location" not in body


def test_workflow_tasks_take_only_the_defaults_that_apply(tmp_path: Path) -> None:
    request = load_text(tmp_path, SPEC).tasks[3].request_for_attempt(1)
    assert request.body == {
        "workflow_id": "wpid_1",
        "parameters": {"region": "eu", "week": "2026-W01"},
        "run_metadata": {"team": "data"},
        "proxy_location": "RESIDENTIAL_GB",
        "extra_http_headers": {"Accept-Language": "en-GB", "X-Team": "data"},
    }
    assert request.headers == {"x-max-steps-override": "12"}


def test_without_an_engine_the_body_says_skyvern_2(tmp_path: Path) -> None:
    spec = load_text(tmp_path, "name: x\ntasks: [{id: a, prompt: hi}]\n")
    assert spec.tasks[0].request_for_attempt(1).body == {"prompt": "hi", "engine": "skyvern-2.0"}
    assert spec.tasks[0].engine == "skyvern-2.0"


def test_a_bad_default_is_reported_once_at_the_default(tmp_path: Path) -> None:
    text = """\
    name: x
    defaults:
      max_steps: 0
    tasks:
      - {id: a, prompt: hi}
      - {id: b, prompt: hi, workflow_id: wpid_1}
      - {id: c, prompt: hi, start_fresh_browser: true, browser_address: "http://h:9222"}
    """
    assert issues_of(tmp_path, text) == [
        "3:14: defaults.max_steps: must be at least 1, got 0",
        "6:13: tasks[1].prompt: 'prompt' does not apply to a workflow task "
        "(this task has a workflow_id)",
        "7:46: tasks[2].start_fresh_browser: start_fresh_browser cannot be combined with "
        "browser_address",
    ]


def test_a_constraint_broken_by_a_default_points_at_the_default(tmp_path: Path) -> None:
    text = """\
    name: x
    defaults:
      browser_profile_id: bp_1
    tasks:
      - {id: a, prompt: hi, engine: skyvern-1.0}
    """
    assert issues_of(tmp_path, text) == [
        "3:23: defaults.browser_profile_id: browser_profile_id works only with engine "
        "skyvern-2.0, not skyvern-1.0"
    ]


def test_retry_merges_key_by_key_over_the_batch_retry(tmp_path: Path) -> None:
    text = """\
    name: x
    retry: {attempts: 4, on: [failed, terminated], backoff: {initial: 2s, factor: 3}}
    timeout: 10m
    tasks:
      - {id: a, prompt: hi}
      - {id: b, prompt: hi, retry: {attempts: 1, backoff: {max: 1m}}, timeout: 90}
    """
    first, second = load_text(tmp_path, text).tasks
    assert first.retry.attempts == 4
    assert first.retry.on == frozenset({"failed", "terminated"})
    assert (first.retry.backoff.initial, first.retry.backoff.factor) == (2.0, 3.0)
    assert first.timeout == 600.0
    assert second.retry.attempts == 1
    assert second.retry.on == frozenset({"failed", "terminated"})
    assert (second.retry.backoff.initial, second.retry.backoff.max) == (2.0, 60.0)
    assert second.timeout == 90.0


def test_escalations_apply_from_their_attempt_on_cumulatively(tmp_path: Path) -> None:
    text = """\
    name: x
    defaults: {extra_http_headers: {A: "1"}}
    retry:
      attempts: 4
      escalate:
        - {attempt: 2, max_steps: 20, extra_http_headers: {B: "2"}}
        - {attempt: 3, engine: skyvern_v1}
    tasks:
      - {id: a, prompt: hi, max_steps: 10}
    """
    task = load_text(tmp_path, text).tasks[0]
    bodies = [task.request_for_attempt(n).body for n in (1, 2, 3, 4, 9)]
    assert [b["max_steps"] for b in bodies] == [10, 20, 20, 20, 20]
    assert [b["engine"] for b in bodies] == ["skyvern-2.0", "skyvern-2.0"] + ["skyvern-1.0"] * 3
    assert bodies[0]["extra_http_headers"] == {"A": "1"}
    assert bodies[1]["extra_http_headers"] == {"A": "1", "B": "2"}
