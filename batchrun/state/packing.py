"""Run responses kept small in the state file: deflated against a preset dictionary.

A final run response is about 1.5 KB of JSON, most of it the same keys (and nulls) in every
response, and it is kept on every task: the largest thing in the state. Deflate with a
dictionary holding a typical response's skeleton brings one to a few hundred bytes and
reads back to the same text, so what `run.json` and every other reader sees is unchanged.

Format: the one-byte version `b"\\x01"`, then raw deflate of the UTF-8 JSON text against
`_DICTIONARY_V1`. That dictionary is part of the file format: never edit it (a new one needs
a new version byte, and reading keeps every old version). TEXT values (state files written
before this) are read as they are.
"""

from __future__ import annotations

import json
import zlib

_V1 = b"\x01"
# A skeleton of Skyvern's run response (docs/skyvern-api.md), its most common runs of bytes
# last (deflate reaches the end of a dictionary most cheaply).
_DICTIONARY_V1 = (
    b'"workflow_run_id":"wr_","workflow_id":"wpid_","workflow_permanent_id":"wpid_",'
    b'"parameters":{},"proxy_location":"RESIDENTIAL","webhook_callback_url":null,'
    b'"navigation_goal":null,"data_extraction_goal":null,"navigation_payload":null,'
    b'"extracted_information":null,"action_history":null,"max_retries":null,'
    b'"downloaded_file_urls":null,"failure_category":null,"status":"failed",'
    b'"status":"terminated","status":"timed_out","status":"canceled",'
    b'{"run_id":"tsk_v2_","run_type":"task_v2","status":"completed","output":{"summary":'
    b'"},"downloaded_files":[],"recording_url":"https://'
    b'/artifacts/a_/recording.webm?expiry=&sig=***","recording_archived":false,'
    b'"screenshot_urls":["https:///artifacts/a_/screenshot_final.png?expiry=&sig=***"],'
    b'"failure_reason":null,"created_at":"2026-01-01T00:00:00.000000Z",'
    b'"modified_at":"2026-01-01T00:00:00.000000Z","queued_at":"2026-01-01T00:00:00.000000Z",'
    b'"started_at":"2026-01-01T00:00:00.000000Z","finished_at":"2026-01-01T00:00:00.000000Z",'
    b'"app_url":"https://app.skyvern.com/runs/wr_","browser_session_id":null,"step_count":'
    b',"errors":[],"run_request":{"prompt":"","url":"https://","engine":"skyvern-2.0",'
    b'"title":null,"proxy_location":"RESIDENTIAL","data_extraction_schema":null,'
    b'"error_code_mapping":null,"max_steps":null,"webhook_url":null,"totp_identifier":null,'
    b'"totp_url":null,"browser_session_id":null,"browser_profile_id":null,'
    b'"start_fresh_browser":false,"model":null,"extra_http_headers":null,'
    b'"cdp_connect_headers":null,"publish_workflow":false,'
    b'"include_action_history_in_verification":false,"max_screenshot_scrolls":null,'
    b'"browser_address":null,"run_with":null,"file_ids":null},"retry_pending":false,'
    b'"next_attempt_at":null,"attempt":null,"browser_profile_id":null,'
    b'"max_screenshot_scrolls":null,"script_run":null}'
)


def pack_json_text(text: str) -> bytes:
    """`text` (JSON, already scrubbed of secrets) in the packed form."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1)
    return _V1 + packer.compress(text.encode()) + packer.flush()


def unpack_json_text(value: bytes) -> str:
    if value[:1] != _V1:
        raise ValueError(f"unknown packed JSON version {value[:1]!r} in the state file")
    unpacker = zlib.decompressobj(-15, zdict=_DICTIONARY_V1)
    return (unpacker.decompress(value[1:]) + unpacker.flush()).decode()


def load_json_column(value: str | bytes | None) -> object:
    """A JSON column's value: plain text or packed."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = unpack_json_text(value)
    return json.loads(value)
