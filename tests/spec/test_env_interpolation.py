"""`${VAR}` comes from the environment; `$${` is a literal; values from the environment
never reach anything written to disk: the redacted request puts `${VAR}` back."""

from __future__ import annotations

import json
from pathlib import Path

from spec_helpers import issues_of, load_text

SPEC = """\
name: env
api: {base_url: "${SKY_URL}"}
defaults:
  extra_http_headers: {Authorization: "Bearer ${SHOP_TOKEN}"}
tasks:
  - id: login
    prompt: "Log in as ${SHOP_USER} with password ${SHOP_PASSWORD}; type $${NOT_A_VAR} as is"
    url: https://shop.example.com/login
    user_agent: "${AGENT}"
"""
ENV = {
    "SKY_URL": "http://127.0.0.1:8000/",
    "SHOP_TOKEN": "tok-123456",
    "SHOP_USER": "ada",
    "SHOP_PASSWORD": "pa55-w0rd-{x}",
    "AGENT": "batch-runner",
}


def test_variables_are_filled_from_the_environment(tmp_path: Path) -> None:
    spec = load_text(tmp_path, SPEC, ENV)
    assert spec.api_base_url == "http://127.0.0.1:8000"
    request = spec.tasks[0].request_for_attempt(1)
    assert request.body["prompt"] == (
        "Log in as ada with password pa55-w0rd-{x}; type ${NOT_A_VAR} as is"
    )
    assert request.body["extra_http_headers"] == {"Authorization": "Bearer tok-123456"}
    assert request.headers == {"x-user-agent": "batch-runner"}


def test_the_redacted_request_holds_no_environment_value(tmp_path: Path) -> None:
    task = load_text(tmp_path, SPEC, ENV).tasks[0]
    redacted = task.request_for_attempt(1, redacted=True)
    text = json.dumps([redacted.body, redacted.headers, redacted.query])
    for secret in ("tok-123456", "pa55-w0rd", "batch-runner"):
        assert secret not in text
    assert redacted.body["prompt"] == (
        "Log in as ${SHOP_USER} with password ${SHOP_PASSWORD}; type ${NOT_A_VAR} as is"
    )
    assert redacted.body["extra_http_headers"] == {"Authorization": "Bearer ${SHOP_TOKEN}"}
    assert redacted.headers == {"x-user-agent": "${AGENT}"}
    # the unredacted request is untouched by redaction
    assert (
        task.request_for_attempt(1).body["extra_http_headers"]["Authorization"].endswith("123456")
    )


def test_every_missing_variable_is_named(tmp_path: Path) -> None:
    env = {"SKY_URL": "http://127.0.0.1:8000"}
    assert issues_of(tmp_path, SPEC, env) == [
        "4:39: defaults.extra_http_headers.Authorization: "
        "environment variable SHOP_TOKEN is not set",
        "7:13: tasks[0].prompt: environment variable SHOP_USER is not set",
        "7:13: tasks[0].prompt: environment variable SHOP_PASSWORD is not set",
        "9:17: tasks[0].user_agent: environment variable AGENT is not set",
    ]


def test_the_base_url_defaults_to_the_environment_then_to_the_cloud(tmp_path: Path) -> None:
    text = "name: x\ntasks: [{id: a, prompt: hi}]\n"
    assert load_text(tmp_path, text, {}).api_base_url == "https://api.skyvern.com"
    env = {"SKYVERN_BASE_URL": "http://localhost:8000"}
    assert load_text(tmp_path, text, env).api_base_url == "http://localhost:8000"
    assert load_text(tmp_path, text, {}).api_key_env == "SKYVERN_API_KEY"


def test_a_number_field_may_come_from_the_environment(tmp_path: Path) -> None:
    text = "name: x\ntasks: [{id: a, prompt: hi, max_steps: '${STEPS}'}]\n"
    spec = load_text(tmp_path, text, {"STEPS": "42"})
    assert spec.tasks[0].request_for_attempt(1).body["max_steps"] == 42
