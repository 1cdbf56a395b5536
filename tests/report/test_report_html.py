"""write_report on results directories built by hand: content, limits and safety."""

from __future__ import annotations

import base64
import json
import os
from html import escape as html_escape
from pathlib import Path

import pytest
from report_dom import read_dom
from results_fixture import build_results_dir, large_batch, png_bytes, small_batch, task_line

import batchrun.report.rows as report_rows
import batchrun.report.table as report_table
from batchrun.errors import UsageError
from batchrun.report import write_report
from batchrun.report.rows import MAX_PREVIEW_CHARS
from batchrun.report.scan import TABLE_ROWS


def test_the_report_shows_the_summary_each_task_and_the_timeline(tmp_path: Path) -> None:
    results = small_batch(tmp_path)
    report = write_report(results)
    assert report == results / "report.html"
    html = report.read_text(encoding="utf-8")
    dom = read_dom(html)

    assert len(dom.task_rows) == 5
    assert '<div class="value">3</div><div class="name">succeeded</div>' in html
    assert '<div class="value">5m 12s</div><div class="name">wall time</div>' in html
    assert html.count('<rect class="bar') == 4  # sku-5 never started: no bar
    assert '<rect class="bar st-failed"' in html
    assert "Page timed out &lt;/td&gt;&lt;/tr&gt;&lt;tr class=task&gt;" in html
    assert "tasks/sku-1/files/" in dom.links and "tasks/sku-3/" in dom.links
    assert "https://app.skyvern.com/runs/tsk_1" in dom.links
    assert not any("javascript" in link for link in dom.links)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no external asset
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_the_final_screenshot_is_embedded_as_the_thumbnail(tmp_path: Path) -> None:
    results = small_batch(tmp_path)
    dom = read_dom(write_report(results).read_text(encoding="utf-8"))
    (image,) = dom.images
    final = results / "tasks/sku-1/artifacts/screenshot_final-1.png"
    assert image["src"] == "data:image/png;base64," + base64.b64encode(final.read_bytes()).decode()
    assert "tasks/sku-1/artifacts/screenshot_final-1.png" in dom.links


def test_past_the_embedding_budget_thumbnails_are_relative_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_rows, "EMBED_BUDGET_BYTES", 0)
    results = small_batch(tmp_path)
    (image,) = read_dom(write_report(results).read_text(encoding="utf-8")).images
    assert image["src"] == "tasks/sku-1/artifacts/screenshot_final-1.png"
    assert (results / str(image["src"])).is_file()


def test_a_symlink_out_of_the_results_directory_is_never_embedded(tmp_path: Path) -> None:
    outside = tmp_path / "private.png"
    outside.write_bytes(png_bytes(8, 8, (1, 2, 3)))
    results = build_results_dir(tmp_path, [task_line(1, "succeeded")], None)
    shots = results / "tasks/sku-1/artifacts"
    shots.mkdir()
    os.symlink(outside, shots / "screenshot_final-1.png")
    assert read_dom(write_report(results).read_text(encoding="utf-8")).images == []


def test_without_summary_json_counts_come_from_the_table(tmp_path: Path) -> None:
    lines = [task_line(1, "succeeded"), task_line(2, "failed"), task_line(3, "running")]
    results = build_results_dir(tmp_path, lines, None)
    with (results / "outputs.jsonl").open("a", encoding="utf-8") as table:
        table.write('{"task": "sku-4", "status": "succ\n')  # a torn line
    html = write_report(results).read_text(encoding="utf-8")
    assert '<div class="value">1</div><div class="name">failed</div>' in html
    assert '<div class="value">1</div><div class="name">pending</div>' in html
    assert "No summary.json" in html
    assert "1 unreadable line(s)" in html
    assert len(read_dom(html).task_rows) == 3


def test_ten_thousand_tasks_make_a_small_file_with_a_capped_table(tmp_path: Path) -> None:
    results = large_batch(tmp_path, 10_000)
    report = write_report(results)
    html = report.read_text(encoding="utf-8")
    assert report.stat().st_size < 3 * 1024 * 1024  # each output holds 5 KB; the page does not
    assert "x" * MAX_PREVIEW_CHARS not in html
    dom = read_dom(html)
    assert len(dom.task_rows) == TABLE_ROWS
    # All 1,000 failures (every tenth task) lead; no success fits under the cap.
    assert [row["id"] for row in dom.task_rows[:2]] == ["task-sku-10", "task-sku-20"]
    assert dom.task_rows[-1]["id"] == "task-sku-10000"
    assert "Showing 1,000 of 10,000 tasks" in html and "outputs.jsonl" in dom.links


def test_rewriting_the_report_leaves_only_the_report(tmp_path: Path) -> None:
    results = small_batch(tmp_path)
    before = set(results.iterdir())
    write_report(results)
    write_report(results)
    assert set(results.iterdir()) - before == {results / "report.html"}


def test_a_directory_without_outputs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no outputs\.jsonl"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_outputs_of_any_json_shape_are_previewed(tmp_path: Path) -> None:
    outputs = [["a", 1], "plain text", 42, {"nested": {"deep": [1, 2]}}]
    lines = [task_line(i, "succeeded", output=out) for i, out in enumerate(outputs, start=1)]
    html = write_report(build_results_dir(tmp_path, lines, None)).read_text(encoding="utf-8")
    # What is not an object goes whole to the `other output` column...
    for output in outputs[:3]:
        preview = output if isinstance(output, str) else json.dumps(output)
        assert "<code>" + html_escape(preview) + "</code>" in html
    # ...an object's leaves become columns, deeper values short JSON in theirs.
    assert '<th title="nested.deep">nested.deep</th>' in html
    assert '<td class="output json">[1, 2]</td>' in html


def test_embedded_screenshots_go_to_failures_first_and_spare_the_table_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_table, "TABLE_BUDGET_BYTES", 20_000)
    results = small_batch(tmp_path)
    big = os.urandom(30_000)  # 40 KB of base64: more than the whole table budget
    for task in ("sku-1", "sku-3"):
        shots = results / f"tasks/{task}/artifacts"
        shots.mkdir(parents=True, exist_ok=True)
        (shots / "screenshot_final-9.png").write_bytes(big)
    monkeypatch.setattr(report_rows, "EMBED_BUDGET_BYTES", 45_000)  # room for one of them
    dom = read_dom(write_report(results).read_text(encoding="utf-8"))
    assert len(dom.task_rows) == 5
    failed_shot, success_shot = dom.images
    assert str(failed_shot["alt"]).endswith("sku-3") and str(failed_shot["src"]).startswith("data:")
    assert success_shot["src"] == "tasks/sku-1/artifacts/screenshot_final-9.png"
