"""`halt` (stop a batch that keeps failing) and `diff` (output paths a diff ignores): what
`load_spec` exposes, the defaults, and that neither changes a task's content hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import issues_of, load_text

from batchrun.spec import HaltPolicy

_TASKS = "tasks: [{id: a, prompt: hi}, {id: b, workflow_id: wpid_1}]\n"


def test_halt_and_diff_as_written(tmp_path: Path) -> None:
    spec = load_text(
        tmp_path,
        """\
        name: nightly
        halt:
          max_failures: 25
          max_failure_rate: 30%
          min_ended: 2
          on: [failed, terminated, timed_out, invalid_output]
          mode: now
        diff:
          ignore: ["$.scraped_at", "$.items[*].seen_at", "$['odd key'][0].*"]
        """
        + _TASKS,
    )
    assert spec.halt == HaltPolicy(
        max_failures=25,
        max_failure_rate=0.3,
        min_ended=2,
        on=frozenset({"failed", "terminated", "timed_out", "invalid_output"}),
        mode="now",
    )
    assert spec.diff_ignore == ("$.scraped_at", "$.items[*].seen_at", "$['odd key'][0].*")
    assert spec.warnings == []


def test_the_defaults(tmp_path: Path) -> None:
    spec = load_text(tmp_path, "name: nightly\n" + _TASKS)
    assert spec.halt is None
    assert spec.diff_ignore == ()
    spec = load_text(tmp_path, "name: nightly\nhalt: {max_failures: 3}\n" + _TASKS)
    assert spec.halt == HaltPolicy(
        max_failures=3,
        max_failure_rate=None,
        min_ended=20,
        on=frozenset({"failed", "terminated", "timed_out", "invalid_output"}),
        mode="soon",
    )


@pytest.mark.parametrize(
    ("written", "rate"), [("0.3", 0.3), ("'30%'", 0.3), ("0", 0.0), ("1", 1.0), ("'100%'", 1.0)]
)
def test_a_rate_is_a_fraction_or_a_percentage(tmp_path: Path, written: str, rate: float) -> None:
    spec = load_text(
        tmp_path, f"name: n\nhalt: {{max_failure_rate: {written}, min_ended: 1}}\n" + _TASKS
    )
    assert spec.halt is not None and spec.halt.max_failure_rate == pytest.approx(rate)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("30", "a rate is a fraction from 0 to 1 or a percentage such as '30%', got 30"),
        ("'101%'", "a percentage is at most 100%, got '101%'"),
        ("'-5%'", "expected a rate such as 0.3 or '30%', got '-5%'"),
        ("true", "expected a rate such as 0.3 or '30%', got true"),
    ],
)
def test_a_rate_out_of_range_is_an_error(tmp_path: Path, written: str, message: str) -> None:
    text = f"name: n\nhalt: {{max_failure_rate: {written}}}\n" + _TASKS
    assert issues_of(tmp_path, text) == [f"2:26: halt.max_failure_rate: {message}"]


def test_a_rate_that_cannot_apply_is_a_warning(tmp_path: Path) -> None:
    spec = load_text(tmp_path, "name: n\nhalt: {max_failure_rate: 50%}\n" + _TASKS)
    assert [(w.line, w.col, w.message) for w in spec.warnings] == [
        (2, 7, "halt.min_ended is 20 but the batch has 2 tasks: max_failure_rate never applies")
    ]


def test_neither_changes_the_content_hash(tmp_path: Path) -> None:
    plain = load_text(tmp_path, "name: n\n" + _TASKS)
    nightly = load_text(
        tmp_path,
        "name: n\nhalt: {max_failures: 1, mode: now}\ndiff: {ignore: ['$.at']}\n" + _TASKS,
    )
    assert [t.content_hash for t in nightly.tasks] == [t.content_hash for t in plain.tasks]
