"""Every number a spec accepts fits where it goes (SQLite, JSON, float seconds): the largest
values load, one step beyond is an error at the value."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from spec_helpers import issues_of, load_text

from batchrun.spec.models import spec_json_schema

_LARGEST = """\
name: big
timeout: 720h
poll: {interval: 720h, max_interval: 720h}
budget: {max_steps: 9007199254740992, max_runs: 9007199254740992}
retry: {attempts: 100, backoff: {initial: 2592000, factor: 10, max: 720h, jitter: 1}}
export: {max_file_size: 1000TB}
tasks:
  - {id: a, prompt: hi, max_steps: 10000, max_screenshot_scrolls: 1000}
  - {id: w, workflow_id: wpid_1, max_elapsed_time_minutes: 480, max_steps: 10000}
"""


def test_the_largest_values_load_and_fit_sqlite(tmp_path: Path) -> None:
    spec = load_text(tmp_path, _LARGEST)
    assert spec.export.max_file_size == 10**15
    assert spec.poll.max_interval == spec.tasks[0].timeout == 30 * 24 * 3600
    numbers = [
        spec.budget_max_steps,
        spec.budget_max_runs,
        spec.export.max_file_size,
        spec.tasks[0].request_for_attempt(1).body["max_steps"],
    ]
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE t (n INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(n,) for n in numbers])
        assert [row[0] for row in db.execute("SELECT n FROM t")] == numbers


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "timeout: 2592001",
            "2:10: timeout: a duration must be at most 30 days (720h)",
        ),
        ("budget: {max_runs: 9007199254740993}", "2:20: budget.max_runs: must be at most"),
        ("export: {max_file_size: 1000000000000001}", "2:25: export.max_file_size: a size must"),
        ("export: {max_file_size: 1001TB}", "2:25: export.max_file_size: a size must be at most"),
        ("retry: {backoff: {jitter: .nan}}", "2:27: '.nan': infinite and NaN numbers"),
        ("retry: {backoff: {factor: '1e999'}}", "2:27: retry.backoff.factor: expected a finite"),
        ("retry: {attempts: 101}", "2:19: retry.attempts: must be at most 100, got 101"),
    ],
)
def test_one_beyond_is_an_error_at_the_value(tmp_path: Path, line: str, expected: str) -> None:
    issues = issues_of(tmp_path, f"name: big\n{line}\ntasks: [{{id: a, prompt: hi}}]\n")
    assert len(issues) == 1
    assert issues[0].startswith(expected), issues[0]


def test_max_steps_has_a_ceiling_for_tasks_workflows_and_escalations(tmp_path: Path) -> None:
    text = """\
    name: big
    tasks:
      - {id: a, prompt: hi, max_steps: 10001}
      - {id: w, workflow_id: wpid_1, max_steps: 123456789012345678901234567890}
      - {id: e, prompt: hi, retry: {escalate: [{attempt: 2, max_steps: 20000}]}}
    """
    assert issues_of(tmp_path, text) == [
        "3:36: tasks[0].max_steps: must be at most 10000, got 10001",
        "4:45: tasks[1].max_steps: must be at most 10000, got 123456789012345678901234567890",
        "5:68: tasks[2].retry.escalate[0].max_steps: must be at most 10000, got 20000",
    ]


def test_the_json_schema_carries_the_bounds() -> None:
    text = json.dumps(spec_json_schema())
    for bound in ('"maximum": 10000', '"maximum": 9007199254740992', '"maximum": 2592000',
                  '"maximum": 1000000000000000'):  # fmt: skip
        assert bound in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("timeout: '" + "9" * 400 + "s'", "2:10: timeout: a duration must be at most 30 days"),
        ("export: {max_file_size: '" + "9" * 400 + "TB'}", "2:25: export.max_file_size: a size"),
        (
            "halt: {max_failures: 1, max_failure_rate: '" + "9" * 400 + "%'}",
            "2:43: halt.max_failure_rate: a percentage is at most 100%",
        ),
    ],
)
def test_digits_past_a_float_s_range_are_errors_not_crashes(
    tmp_path: Path, line: str, expected: str
) -> None:
    issues = issues_of(tmp_path, f"name: big\n{line}\ntasks: [{{id: a, prompt: hi}}]\n")
    assert len(issues) == 1
    assert issues[0].startswith(expected), issues[0]
