"""What the operator sees: plain lines under a pipe, the live bar under a pseudo-terminal,
JSON lines for log shippers, and never the API key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pty_capture import run_on_terminal

FEED = Path(__file__).with_name("feed_events.py")
SECRET = "sk-live-7f3a9c1e5b2d4f60"
EVENT_COUNT = 11  # events in feed_events.batch_events
JSON_FIELDS = {"ts", "level", "kind", "batch", "task", "attempt", "run_id", "status", "message"}
PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO |WARN |ERROR) prices/run-7 ")


def _env() -> dict[str, str]:
    env = dict(os.environ, FEED_SECRET=SECRET, TERM="xterm-256color", COLUMNS="110")
    env.pop("NO_COLOR", None)
    return env


def feed_through_pipe(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(FEED), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def feed_through_terminal(*args: str) -> bytes:
    """Runs the feeder with a real pseudo-terminal as stdout and returns every byte it drew."""
    returncode, drawn, stderr = run_on_terminal([sys.executable, str(FEED), *args], env=_env())
    assert returncode == 0, stderr
    return drawn


def test_under_a_pipe_each_event_is_one_plain_line() -> None:
    out = feed_through_pipe("auto")
    assert "\x1b" not in out  # no colour, no cursor movement
    assert "━" not in out
    event_lines = [line for line in out.splitlines() if PLAIN_LINE.match(line)]
    assert len(event_lines) == EVENT_COUNT
    failed = next(line for line in event_lines if "status=failed" in line and "ERROR" in line)
    assert "task=sku-2 attempt=2 run=tsk_3 status=failed login refused for key ***" in failed
    # A newline inside a message cannot forge a second log line.
    assert not any(line.startswith("FORGED") for line in out.splitlines())
    assert "\\x0aFORGED" in failed


def test_the_summary_lists_counts_and_how_to_look_closer_at_failures() -> None:
    out = feed_through_pipe("plain")
    summary = out[out.index("Batch prices/run-7") :]
    assert "3 succeeded, 1 failed, 0 canceled of 4 tasks" in summary
    assert "retries 1 · runs 4 · steps 23 · wall time 4m 12s" in summary
    assert "results: results/prices/run-7" in summary
    assert "sku-2 (failed, attempts 2, run tsk_3): login refused for key ***" in summary
    assert "batchrun inspect jobs/prices.yaml sku-2 --run run-7" in summary


def test_under_a_pseudo_terminal_a_live_bar_is_drawn() -> None:
    drawn = feed_through_terminal("auto").decode("utf-8", errors="replace")
    assert "\x1b[" in drawn  # a real terminal gets colour and cursor control
    assert "━" in drawn  # rich's bar
    assert "3/3" in drawn
    assert "2 done" in drawn and "1 failed" in drawn and "1 already done" in drawn
    assert "✗" in drawn and "sku-2" in drawn
    assert "batchrun inspect jobs/prices.yaml sku-2 --run run-7" in drawn
    assert SECRET not in drawn


def test_quiet_prints_only_warnings_errors_and_the_summary() -> None:
    for drawn in (feed_through_pipe("auto", "--quiet"), feed_through_terminal("auto", "--quiet")):
        text = drawn if isinstance(drawn, str) else drawn.decode()
        assert "━" not in text and "\x1b" not in text
        levels = [m.group(1) for m in map(PLAIN_LINE.match, text.splitlines()) if m]
        assert levels == ["WARN ", "ERROR"]
        assert "Batch prices/run-7 (run-7): 3 succeeded" in text


def test_json_lines_parse_and_carry_the_fields() -> None:
    lines = feed_through_pipe("json").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == EVENT_COUNT + 1
    for record in records:
        assert record.keys() >= JSON_FIELDS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    failed = next(r for r in records if r["kind"] == "task_failed")
    assert failed["level"] == "error"
    assert (failed["task"], failed["attempt"], failed["run_id"], failed["status"]) == (
        "sku-2",
        2,
        "tsk_3",
        "failed",
    )
    assert failed["message"].startswith("login refused for key ***\n")
    retry = next(r for r in records if r["kind"] == "retry_scheduled")
    assert retry["data"]["headers"] == {"x-api-key": "***"}
    summary = records[-1]
    assert summary["kind"] == "summary" and summary["level"] == "error"
    assert summary["data"]["failed_tasks"][0]["reason"] == "login refused for key ***"


@pytest.mark.parametrize("log_format", ["auto", "plain", "json"])
def test_the_secret_never_appears_in_any_format(log_format: str) -> None:
    piped = feed_through_pipe(log_format)
    drawn = feed_through_terminal(log_format).decode("utf-8", errors="replace")
    for out in (piped, drawn):
        assert SECRET not in out
        assert "***" in out
