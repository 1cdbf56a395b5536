"""Secrets never reach run.json or the state."""

from __future__ import annotations

import json

from batchrun.redaction import Redactor


def scrub_secrets(value, secrets):
    return Redactor(secrets).value(value)


API_KEY = "sk-test-0123456789abcdef"


def test_secret_strings_and_sensitive_keys_are_masked() -> None:
    run = {
        "run_id": "tsk_1",
        "output": {"note": f"the page echoed {API_KEY}"},
        "run_request": {
            "prompt": "log in",
            "extra_http_headers": {"Authorization": "Bearer site-token"},
            "cdp_connect_headers": {"X-Token": "cdp-secret"},
            "totp_identifier": "me@example.com",
            "proxy_location": {"url": "http://user:proxy-pass@proxy.example:8080"},
            "x-api-key": API_KEY,
        },
        "downloaded_files": [
            {"url": "https://api.example/v1/artifacts/a1/content?expiry=9&kid=k&sig=SIGNATURE"}
        ],
    }
    scrubbed = scrub_secrets(run, [API_KEY])
    text = json.dumps(scrubbed)
    leaked = ["site-token", "cdp-secret", "me@example.com", "proxy-pass", "SIGNATURE", API_KEY]
    assert [secret for secret in leaked if secret in text] == []
    request = scrubbed["run_request"]
    assert request["extra_http_headers"] == {"Authorization": "***"}
    assert request["prompt"] == "log in"
    assert request["proxy_location"]["url"] == "http://user:***@proxy.example:8080"
    assert run["run_request"]["x-api-key"] == API_KEY  # the input is not modified


def test_overlapping_secrets_are_masked_whole() -> None:
    assert scrub_secrets(["abcd-efgh-ijkl"], ["abcd", "abcd-efgh-ijkl"]) == ["***"]


def test_non_string_values_are_kept() -> None:
    value = {"count": 3, "ok": True, "none": None, "items": [1.5, "x"]}
    assert scrub_secrets(value, [API_KEY]) == value
