"""write_report on generated batches of 10,000+ tasks: bounded file, capped table, flat memory."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from report_dom import read_dom
from results_fixture import build_results_dir, scale_batch, task_line

from batchrun.report import write_report
from batchrun.report.chart import BUCKETS
from batchrun.report.scan import TABLE_ROWS, TOP_N

COUNT = 10_000


def failed_or_canceled(index: int) -> bool:
    return index % 7 == 0 or index % 50 == 0  # as results_fixture.scale_line decides


def test_ten_thousand_tasks_give_a_bounded_page_with_failures_first(tmp_path: Path) -> None:
    report = write_report(scale_batch(tmp_path, COUNT))
    html = report.read_text(encoding="utf-8")
    assert report.stat().st_size < 3 * 1024 * 1024
    dom = read_dom(html)

    problems = [i for i in range(1, COUNT + 1) if failed_or_canceled(i)]
    others = [i for i in range(1, COUNT + 1) if not failed_or_canceled(i)]
    expected = (problems + others)[:TABLE_ROWS]
    assert [row["id"] for row in dom.task_rows] == [f"task-sku-{i}" for i in expected]
    assert "Tasks (1,000 of 10,000)" in html
    assert "Showing 1,000 of 10,000 tasks" in html
    assert {"outputs.csv", "outputs.jsonl"} <= set(dom.links)


def test_past_five_hundred_tasks_the_chart_is_a_histogram(tmp_path: Path) -> None:
    html = write_report(scale_batch(tmp_path, COUNT)).read_text(encoding="utf-8")
    # In flight plus at most four finished statuses per bucket, never one bar per task.
    assert html.count('<rect class="bar') <= BUCKETS * 5
    assert "tasks in flight" in html
    assert "max 100" in html  # 10,000 tasks finishing evenly over 120 buckets, at most


def test_failures_are_grouped_by_normalised_reason(tmp_path: Path) -> None:
    html = write_report(scale_batch(tmp_path, COUNT)).read_text(encoding="utf-8")
    section = html[html.index('<section id="failures">') : html.index('<section id="top">')]
    failed = [i for i in range(1, COUNT + 1) if i % 7 == 0 and i % 50]
    by_reason = {0: [i for i in failed if i % 3 == 0], 1: [i for i in failed if i % 3 == 1]}
    # Numbers, URLs and run ids vary per task; the reason does not.
    assert "Navigation timed out after Nms on &lt;url&gt;" in section
    assert "Element #buy-N not found (run &lt;id&gt;)" in section
    assert f'<td class="num">{len(by_reason[0]):,}</td>' in section
    assert f'<td class="num">{len(by_reason[1]):,}</td>' in section
    # Failed groups come first, the canceled one last, each with three example ids.
    assert section.rindex("badge st-failed") < section.index("badge st-canceled")
    assert section.count('href="#task-sku-') == 4 * 3
    assert "timed_out" in section


def test_the_slowest_and_costliest_ten_are_listed(tmp_path: Path) -> None:
    html = write_report(scale_batch(tmp_path, COUNT)).read_text(encoding="utf-8")
    section = html[html.index('<section id="top">') : html.index('<section id="tasks">')]
    slowest, steps = section.split("Most steps")

    def durations(i: int) -> int:
        return 30 + (i * 104729) % 600

    def step_count(i: int) -> int:
        return 3 + (i * 7919) % 40

    for text, measure in ((slowest, durations), (steps, step_count)):
        top = sorted(range(1, COUNT + 1), key=lambda i: (-measure(i), i))[:TOP_N]
        listed = [part.split('"', 1)[0] for part in text.split("#task-sku-")[1:]]
        listed += [part.split("/", 1)[0] for part in text.split('"tasks/sku-')[1:]]
        assert sorted(int(i) for i in listed) == sorted(top)


def test_the_cards_show_summary_json_not_a_recount(tmp_path: Path) -> None:
    results = scale_batch(tmp_path, COUNT)
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    summary |= {"failed": 1234, "total": 10_001, "halted": {"reason": "3 failures in a row"}}
    (results / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    html = write_report(results).read_text(encoding="utf-8")
    assert '<div class="value">1,234</div><div class="name">failed</div>' in html
    assert '<div class="value">10,001</div><div class="name">total</div>' in html
    assert "The batch was halted: 3 failures in a row." in html


def test_memory_stays_flat_from_two_to_twenty_thousand_tasks(tmp_path: Path) -> None:
    peaks = []
    for count in (2_000, 20_000):
        results = scale_batch(tmp_path / str(count), count, summary=False)
        tracemalloc.start()
        try:
            write_report(results)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    small, large = peaks
    # Ten times the tasks (and ~10 MB more outputs.jsonl) keep the same bounded aggregates.
    assert large < 2 * small, peaks
    assert large < 48 * 1024 * 1024, peaks


def test_long_values_everywhere_still_give_a_bounded_page(tmp_path: Path) -> None:
    long = "Ünïcode & <long> value " * 10
    lines = [
        task_line(
            i,
            "failed",
            task=f"task-{i}-" + "x" * 100,
            output={f"field{k}": long for k in range(12)},
            failure_reason=long * 5,
            validation_error=long,
            file_errors=[f"{long} {n}" for n in range(10)],
        )
        for i in range(1, 1_201)
    ]
    report = write_report(build_results_dir(tmp_path, lines, None, task_dirs=False))
    assert report.stat().st_size < 3 * 1024 * 1024
    html = report.read_text(encoding="utf-8")
    shown = len(read_dom(html).task_rows)
    assert 0 < shown < TABLE_ROWS
    assert f"Tasks ({shown:,} of 1,200)" in html
    assert "and 7 more file error(s)" in html
