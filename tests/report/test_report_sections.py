"""The report's sections on hand-built results: diff, flags, output columns, failure groups."""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest
from report_dom import read_dom
from results_fixture import HOSTILE_OUTPUT, build_results_dir, task_line

from batchrun.report import write_report
from batchrun.report.diff import MAX_CHANGES
from batchrun.report.outputs import MAX_COLUMNS
from batchrun.report.scan import normalise_reason


def report_of(
    tmp_path: Path, lines: list[dict[str, Any]], summary: Any = None, **files: Any
) -> str:
    results = build_results_dir(tmp_path, lines, summary)
    for name, content in files.items():
        (results / f"{name}.json").write_text(
            content if isinstance(content, str) else json.dumps(content), encoding="utf-8"
        )
    return write_report(results).read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start : html.index("</section>", start)]


def test_the_diff_shows_counts_then_capped_changes_with_a_link(tmp_path: Path) -> None:
    changed = [
        {"task": f"sku-{i}", "fields": [{"path": "$.price", "from": i, "to": i + 1}]}
        for i in range(1, MAX_CHANGES + 21)
    ]
    changed[0]["fields"].append({"path": "$.note", "from": None, "to": HOSTILE_OUTPUT})
    diff = {
        "from": "run-6",
        "to": "run-7",
        "changed": changed,
        "added": ["sku-new"],
        "removed": [],
        "newly_failed": ["sku-2"],
        "recovered": ["javascript:alert(1)"],
        "unchanged": 7,
    }
    html = report_of(tmp_path, [task_line(1, "succeeded"), task_line(2, "failed")], diff=diff)
    part = section(html, "diff")
    assert '<div class="value">120</div><div class="name">changed</div>' in part
    assert '<div class="value">7</div><div class="name">unchanged</div>' in part
    assert "from run run-6 to run run-7" in part
    assert part.count("<tr><td") == MAX_CHANGES
    assert f"Showing {MAX_CHANGES} of 121 changed values" in part
    assert '<a href="diff.json">diff.json</a>' in part
    assert "<script>" not in part and "&lt;script&gt;" in part
    dom = read_dom(html)
    assert dom.scripts == 0
    assert not any(link.startswith("javascript:") for link in dom.links)
    assert "#task-sku-2" in dom.links  # a shown task links to its row


def test_an_unreadable_diff_is_flagged_not_fatal(tmp_path: Path) -> None:
    html = report_of(tmp_path, [task_line(1, "succeeded")], diff="{not json")
    assert "could not be read here" in section(html, "diff")


def test_without_a_diff_there_is_no_such_section(tmp_path: Path) -> None:
    assert 'id="diff"' not in report_of(tmp_path, [task_line(1, "succeeded")])


def test_flags_for_an_interrupted_halted_batch_with_file_errors(tmp_path: Path) -> None:
    summary = {
        "batch": "prices",
        "total": 1,
        "succeeded": 1,
        "interrupted": True,
        "budget_exhausted": True,
        "halted": {"reason": "<b>too many</b> failures"},
        "file_errors": 3,
        "active_time_s": 125,
        "queued_time_s": 4.5,
        "counts": {"succeeded": 1, "retry_wait": 2},
    }
    html = report_of(tmp_path, [task_line(1, "succeeded")], summary)
    part = section(html, "summary")
    assert part.count("data-flag") == 4
    assert "interrupted" in part and "budget ran out" in part
    assert "halted: &lt;b&gt;too many&lt;/b&gt; failures." in part
    assert "3 file error(s)" in part
    assert '<div class="value">2m 05s</div><div class="name">active time</div>' in part
    assert '<div class="value">4.5s</div><div class="name">queued time</div>' in part
    assert '<div class="value">2</div><div class="name">retry_wait</div>' in part


def test_an_unfinished_batch_says_so(tmp_path: Path) -> None:
    html = report_of(tmp_path, [task_line(1, "running")], {"total": 1, "finished": False})
    assert "has not finished yet" in section(html, "summary")


def test_object_outputs_become_columns_capped_with_the_rest_aside(tmp_path: Path) -> None:
    wide = {f"k{i}": i for i in range(MAX_COLUMNS + 3)}
    lines = [
        task_line(1, "succeeded", output=wide),
        task_line(2, "succeeded", output={"k0": "a", "k1": None, "deep": {"x": {"y": 1}}}),
        task_line(3, "succeeded", output="just text"),
    ]
    html = report_of(tmp_path, lines)
    start = html.index('<table id="task-table"')
    head = html[start : html.index("</thead>", start)]
    headings = [part.split('"', 1)[0] for part in head.split('<th title="')[1:]]
    columns = headings[headings.index("failure") + 1 : headings.index("files")]
    assert len(columns) == MAX_COLUMNS + 1 and columns[-1] == "other output"
    assert columns[:2] == ["k0", "k1"]  # the most common leaves, in first-seen order
    assert '<td class="output num">0</td>' in html
    assert '<td class="output null">null</td>' in html
    assert "<code>just text</code>" in html
    # What the columns leave out is shown aside as JSON, not lost.
    assert "<code>{&quot;k8&quot;: 8, &quot;k9&quot;: 9, &quot;k10&quot;: 10}</code>" in html
    assert "<code>{&quot;deep.x&quot;: {&quot;y&quot;: 1}}</code>" in html


def test_failed_groups_lead_with_examples_capped(tmp_path: Path) -> None:
    lines = [
        task_line(i, "failed", failure_reason=f"Timed out after {i}s on https://x.test/{i}")
        for i in range(1, 6)
    ] + [task_line(6, "canceled"), task_line(7, "failed", failure_reason="Captcha")]
    part = section(report_of(tmp_path, lines), "failures")
    rows = part.split("<tr>")[2:]
    assert "Timed out after Ns on &lt;url&gt;" in rows[0] and '"num">5<' in rows[0]
    assert rows[0].count("#task-sku-") == 3
    assert "Captcha" in rows[1]
    assert "st-canceled" in rows[2] and "no reason given" in rows[2]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Timed out after 30.5s  on https://a.test/x?y=1", "Timed out after Ns on <url>"),
        ("run tsk_9Abc failed: 0f3c2a91b7e4", "run <id> failed: <id>"),
        ("id 123e4567-e89b-12d3-a456-426614174000 gone", "id <id> gone"),
        ("", "no reason given"),
        ("x" * 500, "x" * 199 + "…"),
    ],
)
def test_reasons_are_normalised(raw: str, normal: str) -> None:
    assert normalise_reason(raw) == normal


def test_a_long_value_is_clamped_with_all_of_it_on_hover(tmp_path: Path) -> None:
    url = "https://shop.example/" + "segment-" * 8 + '"><script>x</script>'
    html = report_of(tmp_path, [task_line(1, "succeeded", output={"url": url})])
    shown = html_escape(url)
    assert f'<div class="clamp" title="{shown}">{shown}</div>' in html
    assert read_dom(html).scripts == 0
