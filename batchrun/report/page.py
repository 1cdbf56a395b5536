"""The report page: every section assembled into one self-contained HTML document.

Everything shown comes from files whose content came from the web, so every value is
HTML-escaped, links are built only from path components we quote ourselves (or http(s)
URLs), and a Content-Security-Policy forbids scripts outright as a second line of defence.
The page uses no script, font or stylesheet from anywhere: it opens offline.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from batchrun.report.chart import Timeline
from batchrun.report.diff import diff_section
from batchrun.report.rows import ReportRow
from batchrun.report.scan import Overview
from batchrun.report.sections import failures_section, summary_section, top_section
from batchrun.report.table import table_style, task_rows_html, task_section

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'"

_STYLE = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --idle: #6e7781; --run: #0969da; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 10px; }
.meta, .note { color: var(--idle); } .meta { overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; min-width: 90px; }
.card .value { font-size: 20px; font-weight: 600; white-space: nowrap; }
.card .name { color: var(--idle); white-space: nowrap; }
.flag { color: var(--warn); font-weight: 600; }
/* A link never breaks, not even at the hyphen of `sku-14`; only a task id in the task
   table may, being the one long value there (its column is fixed). */
a, .nowrap { white-space: nowrap; } td.id a:first-child { white-space: normal; }
/* Wide tables scroll inside their own box: the page itself never scrolls sideways. */
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; }
/* Fixed layout: the browser lays out the rows without measuring every cell first. */
table.tasks { table-layout: fixed; width: 100%; }
table.plain { width: 100%; }
th, td { border-bottom: 1px solid #d8dee4; padding: 5px 8px; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.tasks th { position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
/* Only long values may break anywhere; words, numbers and links otherwise stay whole. */
td.id, td.output, td.problem, td.long { overflow-wrap: anywhere; }
/* `anywhere` lets an auto-sized column shrink to one letter: a floor keeps `$.url` whole. */
td.long { min-width: 8em; }
td.output { font-size: 13px; } td.output.num { text-align: right; }
td.output.null { color: var(--idle); } td.output.json, td.output code { font-size: 12px; }
td.output code { white-space: pre-wrap; }
.clamp { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3;
         line-clamp: 3; overflow: hidden; }
td.problem { color: var(--bad); }
td.nowrap { white-space: nowrap; }
.badge { border-radius: 10px; padding: 1px 8px; color: #fff; background: var(--idle);
         white-space: nowrap; }
.end { color: var(--idle); white-space: nowrap; }
.verdict { color: var(--warn); font-weight: 600; }
.badge.st-succeeded { background: var(--ok); } .badge.st-failed { background: var(--bad); }
.badge.st-canceled { background: var(--warn); }
.badge.st-running, .badge.st-submitting, .badge.st-retry_wait { background: var(--run); }
/* The task id stays in view while the table scrolls sideways to the outputs. */
table.tasks td.id, table.tasks th.id { position: sticky; left: 0; background: #fff;
  z-index: 1; box-shadow: 1px 0 0 #d8dee4; }
table.tasks th.id { z-index: 2; background: #f6f8fa; }
table.tasks tr.st-failed td { background: #fff8f8; }
table.tasks tr.st-canceled td { background: #fffbf0; }
img.thumb { max-width: 100%; max-height: 100px; border: 1px solid #d0d7de; }
.tops { display: flex; flex-wrap: wrap; gap: 8px 32px; }
.top { flex: 1 1 340px; min-width: 0; overflow-x: auto; } .top table { width: 100%; }
.ids { overflow-wrap: anywhere; }
svg.timeline { max-width: 100%; height: auto; }
svg .bar { fill: var(--idle); } svg .bar.st-succeeded { fill: var(--ok); }
svg .bar.st-failed { fill: var(--bad); } svg .bar.st-canceled { fill: var(--warn); }
svg .bar.st-running { fill: var(--run); }
svg .grid { stroke: #d8dee4; } svg .tick { font-size: 11px; fill: var(--idle);
  text-anchor: middle; }
svg .label { font-size: 11px; text-anchor: end; fill: #1f2328; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
.legend .st-running { background: var(--run); } .legend .st-succeeded { background: var(--ok); }
.legend .st-failed { background: var(--bad); } .legend .st-canceled { background: var(--warn); }
.legend .st-other { background: var(--idle); }
"""

_LEGEND = (
    '<p class="legend note">Too many tasks for one bar each: the top panel counts tasks in'
    " flight during each time bucket, the bottom one the tasks that finished in it."
    '<br><span class="st-running"></span>in flight<span class="st-succeeded"></span>succeeded'
    '<span class="st-failed"></span>failed<span class="st-canceled"></span>canceled'
    '<span class="st-other"></span>other</p>'
)


def render_page(
    summary: Mapping[str, Any],
    view: Overview,
    rows: list[ReportRow],
    timeline: Timeline,
    diff: dict[str, Any] | None,
    results_dir: Path,
    generated_at: datetime,
) -> str:
    batch = str(summary.get("batch") or results_dir.parent.name)
    run_key = str(summary.get("run_key") or results_dir.name)
    title = f"{batch} · {run_key}"
    body_rows = task_rows_html(rows, view.columns)
    # Other sections link a task to its row only when the table really shows it.
    shown: Collection[str] = {row.task_id for row in rows[: len(body_rows)]}
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>batchrun report: {escape(title)}</title>",
            f"<style>{_STYLE}{table_style(view.columns)}</style></head>",
            "<body><header>",
            f"<h1>{escape(batch)}</h1>",
            f'<p class="meta">run {escape(run_key)} · {escape(str(results_dir))}'
            f" · report written {escape(generated_at.strftime('%Y-%m-%d %H:%M:%S %Z'))}</p>",
            "</header>",
            summary_section(summary, view),
            diff_section(diff, shown),
            '<section id="timeline"><h2>Runs over time</h2>',
            timeline.svg(),
            "" if timeline.per_task else _LEGEND,
            "</section>",
            failures_section(view, shown),
            top_section(view, shown),
            task_section(body_rows, view.total, view.columns, results_dir),
            "</body></html>\n",
        ]
    )
