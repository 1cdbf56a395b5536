"""Rows after the first good one are checked only where they fill the template
(`spec/row_fill.py`): the tasks and every message must be exactly those of the full check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from spec_helpers import write_spec

from batchrun.spec import SpecError, TaskSpec, check_spec, load_spec
from batchrun.spec.row_fill import RowFiller

ENV = {"SHOP_TOKEN": "tok-123", "REGION": "eu"}

SPEC = """\
name: fill
defaults:
  engine: skyvern-2.0
  extra_http_headers: {X-Token: "${SHOP_TOKEN}", X-Region: "${REGION}"}
  data_extraction_schema: {type: object, properties: {price: {type: number}}}
retry: {attempts: 3}
tasks:
  - id: "p-{sku}"
    retry:
      escalate:
        - {attempt: 2, engine: "{engine2}", max_steps: 40}
    for_each: {csv: rows.csv}
    url: "https://{host}/p/{sku}?t=${SHOP_TOKEN}"
    prompt: 'Price of {sku}, literal {{braces}} and {"json": 1}'
    max_steps: "{steps}"
    start_fresh_browser: "{fresh}"
    title: "plain title"
    run_with: "{run_with}"
"""

GOOD_ROWS = """\
sku,host,steps,fresh,engine2,run_with
a-1,shop.example,10,false,skyvern-2.0,agent
b-2,Shop.Example,20,true,skyvern-2.0,code
c-3,other.example,30,false,skyvern-1.0,agent
"""


def _tasks(tmp_path: Path, rows: str, *, full: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "rows.csv").write_text(rows)
    spec = write_spec(tmp_path, SPEC)
    with monkeypatch.context() as patch:
        if full:
            patch.setattr(RowFiller, "fill", lambda self, row: None)
        try:
            return load_spec(spec, environ=ENV).tasks
        except SpecError as exc:
            return [str(issue) for issue in exc.issues]


def _as_data(task: TaskSpec) -> tuple[object, ...]:
    return (
        task.id,
        task.position,
        task.retry,
        task.content_hash,
        task.host,
        task.engine,
        task.secrets,
        [(r.body, r.headers, r.query) for r in task.requests],
        task.request_for_attempt(2, redacted=True),
    )


def test_filled_rows_build_the_tasks_the_full_check_builds(tmp_path, monkeypatch):
    filled = []
    fill = RowFiller.fill

    def counting(self: RowFiller, row: Any) -> Any:
        result = fill(self, row)
        filled.append(result is not None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(RowFiller, "fill", counting)
        quick = _tasks(tmp_path, GOOD_ROWS, full=False, monkeypatch=monkeypatch)
    assert filled == [False, True, True]  # the first row checked in full, then filled
    full = _tasks(tmp_path, GOOD_ROWS, full=True, monkeypatch=monkeypatch)
    assert [_as_data(task) for task in quick] == [_as_data(task) for task in full]
    second = quick[1]
    assert second.requests[0].body["max_steps"] == 20
    assert second.requests[0].body["start_fresh_browser"] is True  # CSV text to a boolean
    assert second.host == "shop.example" and second.secrets == {"SHOP_TOKEN": "tok-123"} | {
        "REGION": "eu"
    }
    redacted = second.request_for_attempt(1, redacted=True).body
    assert redacted["url"] == "https://Shop.Example/p/b-2?t=${SHOP_TOKEN}"


@pytest.mark.parametrize(
    "bad_row",
    [
        "d-4,shop.example,0,false,skyvern-2.0,agent",  # max_steps below 1
        "d-4,shop.example,10,maybe,skyvern-2.0,agent",  # not a boolean
        "d-4,,10,false,skyvern-2.0,agent",  # a URL without a host
        "d-4,shop.example,10,false,skyvern-9,agent",  # an unknown engine, in an escalation
        "d-4,shop.example,10,true,skyvern-1.0,agent",  # attempt 2: a fresh browser on 1.0
        "b-2,shop.example,10,false,skyvern-2.0,agent",  # a duplicate id
        "d 4,shop.example,10,false,skyvern-2.0,agent",  # an id with a space
        "d-4,shop.example,10,false,skyvern-2.0",  # a missing cell
    ],
)
def test_a_bad_row_after_good_ones_says_what_the_full_check_says(tmp_path, monkeypatch, bad_row):
    rows = GOOD_ROWS + bad_row + "\n"
    quick = _tasks(tmp_path, rows, full=False, monkeypatch=monkeypatch)
    full = _tasks(tmp_path, rows, full=True, monkeypatch=monkeypatch)
    assert quick == full
    assert quick and all(isinstance(line, str) for line in quick), quick


def test_check_spec_counts_the_tasks_and_keeps_none(tmp_path):
    (tmp_path / "rows.csv").write_text(GOOD_ROWS)
    checked = check_spec(write_spec(tmp_path, SPEC), environ=ENV)
    assert (checked.name, checked.task_count) == ("fill", 3)
    with pytest.raises(SpecError):
        check_spec(write_spec(tmp_path, SPEC.replace("run_with", "run_wiht")), environ=ENV)
