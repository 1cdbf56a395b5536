"""report.html laid out by the real headless chromium at 800 px and 1400 px wide.

A probe copy of the page (report_dom.layout_probe) measures itself: the page never scrolls
sideways, the task table fits or scrolls in its own box, output cells keep a readable
width, no cell's content spills out and no link breaks across lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_dom import chromium, layout_probe, read_dom, read_layout
from results_fixture import scale_batch

from batchrun.report import write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MIN_OUTPUT_CELL_PX = 80


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 tasks (past the per-task chart), object outputs with a long unbroken URL each,
    failures with long reasons and a diff since the last run."""
    results = scale_batch(tmp_path_factory.mktemp("layout"), 600)
    (results / "diff.json").write_text(
        json.dumps(
            {
                "from": "run-6",
                "to": "run-7",
                "changed": [
                    {"task": "sku-1", "fields": [{"path": "$.url", "from": "x" * 300, "to": 1}]}
                ],
                "added": [f"sku-{i}" for i in range(1, 40)],
                "removed": [],
                "newly_failed": ["sku-7"],
                "recovered": [],
                "unchanged": 560,
            }
        ),
        encoding="utf-8",
    )
    return write_report(results)


@pytest.mark.parametrize("width", [800, 1400])
def test_the_page_is_readable_at_this_width(report: Path, tmp_path: Path, width: int) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(layout_probe(report.read_text(encoding="utf-8")), encoding="utf-8")
    layout = read_layout(chromium(tmp_path, probe, "--dump-dom", width=width))

    assert layout["viewport"] == width
    assert layout["page_width"] <= width, "the page itself scrolls sideways"
    # The table fits its box, or the box scrolls: it is never squeezed.
    assert layout["box_client"] <= width
    fits = layout["table_width"] <= layout["box_client"] + 1
    assert fits or layout["box_overflow_x"] in ("auto", "scroll")
    assert layout["output_widths"], "no output cell was measured"
    assert min(layout["output_widths"]) >= MIN_OUTPUT_CELL_PX
    assert layout["overflowing_cells"] == []
    assert layout["wrapped_links"] == []
    assert layout["clipped_headers"] == []
    assert abs(layout["id_offset_scrolled"]) <= 1, "the task id scrolled out of view"

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"report-{width}px.png"
    screenshot.unlink(missing_ok=True)
    chromium(tmp_path, report, f"--screenshot={screenshot}", width=width)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_real_page_keeps_its_csp_and_runs_nothing(report: Path, tmp_path: Path) -> None:
    dom = read_dom(chromium(tmp_path, report, "--dump-dom", width=800))
    assert dom.scripts == 0
    assert "data-layout" not in dom.body_attrs
    assert len(dom.task_rows) == 600
