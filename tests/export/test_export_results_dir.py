"""The results directory: tables in spec order, per-task files, a CSV that loads as a table."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from batchrun.export import ExportedFile, ResultsDir
from batchrun.state import TaskRecord

MakeRecord = Callable[..., TaskRecord]

REPORT = ExportedFile("tasks/b/files/report.pdf", "../report.pdf", 12, "ab" * 32, True, None)
BROKEN = ExportedFile("", "data.csv", 10, "cd" * 32, False, "checksum mismatch: expected ...")


def _records(task_record: MakeRecord) -> list[TaskRecord]:
    return [  # in spec order, as the state reads them
        task_record("a", 0, output={"price": 3, "tags": ["x", "y"]}, output_verdict="valid"),
        task_record(
            "b",
            1,
            output={"price": 9.5, "seller": {"name": 'Ann, "the" seller', "rating": 4}},
            files=[REPORT.as_dict(), BROKEN],
        ),
        task_record(
            "c",
            2,
            state="failed",
            output=None,
            failure_reason="page said:\nnot found",
            timeline=[{"type": "block"}],
            run_response=None,
        ),
        task_record("d", 3, output="free text answer"),
    ]


def test_outputs_jsonl_has_one_line_per_task_in_spec_order(
    tmp_path: Path, make_record: MakeRecord
) -> None:
    results = ResultsDir(tmp_path, "prices", "2026-03-01")
    results.write_tables(_records(make_record))
    lines = [json.loads(line) for line in (results.path / "outputs.jsonl").read_text().splitlines()]
    assert [line["task"] for line in lines] == ["a", "b", "c", "d"]
    b = lines[1]
    assert b["output"]["seller"]["name"] == 'Ann, "the" seller'
    assert b["files"] == ["tasks/b/files/report.pdf"]
    assert b["file_errors"] == ["data.csv: checksum mismatch: expected ..."]
    assert b["started_at"] == "2026-03-01T12:00:00Z"
    assert b["finished_at"] == "2026-03-01T12:00:42.500000Z"
    assert set(b) >= {
        "task", "status", "output", "output_verdict", "validation_error", "run_id", "attempts",
        "step_count", "failure_reason", "files", "started_at", "finished_at", "app_url",
    }  # fmt: skip


def test_outputs_csv_loads_with_the_csv_module_one_row_per_task(
    tmp_path: Path, make_record: MakeRecord
) -> None:
    results = ResultsDir(tmp_path, "prices", "k1")
    results.write_tables(_records(make_record))
    with (results.path / "outputs.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["task"] for row in rows] == ["a", "b", "c", "d"]
    header = list(rows[0])
    # Output columns sit where `output` stands, in first-seen order.
    assert header[:8] == [
        "task", "status", "end_status", "output.price", "output.tags", "output.seller.name",
        "output.seller.rating", "output",
    ]  # fmt: skip
    a, b, c, d = rows
    assert a["output.price"] == "3" and json.loads(a["output.tags"]) == ["x", "y"]
    assert b["output.seller.name"] == 'Ann, "the" seller' and b["output.seller.rating"] == "4"
    assert a["output.seller.name"] == ""
    assert c["failure_reason"] == "page said:\nnot found" and c["output"] == ""
    assert d["output"] == "free text answer"
    assert json.loads(b["files"]) == ["tasks/b/files/report.pdf"]


def test_task_files(tmp_path: Path, make_record: MakeRecord) -> None:
    results = ResultsDir(tmp_path, "prices", "k1")
    records = {r.task_id: r for r in _records(make_record)}
    for record in records.values():
        results.write_task(record)
    b_dir = results.task_dir("b")
    assert json.loads((b_dir / "output.json").read_text())["price"] == 9.5
    assert json.loads((b_dir / "run.json").read_text())["run_id"] == "tsk_b"
    manifest = json.loads((b_dir / "files.json").read_text())
    assert [entry["error"] for entry in manifest] == [None, BROKEN.error]
    assert not (b_dir / "timeline.json").exists()
    c_dir = results.task_dir("c")
    assert json.loads((c_dir / "timeline.json").read_text()) == [{"type": "block"}]
    assert json.loads((c_dir / "output.json").read_text()) is None
    assert not (c_dir / "run.json").exists()

    # The task is retried and succeeds: its old timeline must not linger.
    results.write_task(make_record("c", 2, output={"ok": True}))
    assert not (c_dir / "timeline.json").exists()


def test_rewriting_from_the_same_records_gives_the_same_bytes(
    tmp_path: Path, make_record: MakeRecord
) -> None:
    def build(root: Path) -> dict[str, bytes]:
        results = ResultsDir(root, "prices", "k1")
        for record in _records(make_record):
            results.write_task(record)
        results.write_tables(_records(make_record))
        results.write_summary({"succeeded": 3, "failed": 1})
        return {
            p.relative_to(results.path).as_posix(): p.read_bytes()
            for p in sorted(results.path.rglob("*"))
            if p.is_file()
        }

    first = build(tmp_path / "one")
    assert build(tmp_path / "two") == first
    assert "summary.json" in first and "tasks/c/timeline.json" in first


@pytest.mark.parametrize("bad", ["..", "a/b", "", "x\\y"])
def test_names_that_would_escape_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ResultsDir(tmp_path, bad, "k")
    with pytest.raises(ValueError):
        ResultsDir(tmp_path, "spec", "k").task_dir(bad)
