"""The report page: summary, runs-over-time chart and the task table, as one HTML document.

Everything shown comes from files whose content came from the web, so every value is
HTML-escaped, links are built only from path components we quote ourselves (or http(s)
URLs), and a Content-Security-Policy forbids scripts outright as a second line of defence.
The page uses no script, font or stylesheet from anywhere: it opens offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from batchrun.report.chart import status_class, timeline_svg
from batchrun.report.rows import ReportRow, TaskTable
from batchrun.summary import format_duration

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'"

_STYLE = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --idle: #6e7781; --run: #0969da; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #1f2328; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.meta, .note { color: var(--idle); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; min-width: 90px; }
.card .value { font-size: 20px; font-weight: 600; } .card .name { color: var(--idle); }
.flag { color: var(--warn); font-weight: 600; }
/* Fixed layout: a browser lays out 10,000 rows without measuring every cell first. */
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
col.c-num { width: 3.5em; } col.c-task { width: 10em; } col.c-status { width: 7.5em; }
col.c-attempts { width: 6.5em; } col.c-duration { width: 6em; } col.c-steps { width: 4em; }
col.c-failure { width: 20%; } col.c-files { width: 6.5em; } col.c-shot { width: 11em; }
td.id { word-break: break-all; }
th, td { border-bottom: 1px solid #d8dee4; padding: 5px 8px; text-align: left;
         vertical-align: top; }
th { position: sticky; top: 0; background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.output code { white-space: pre-wrap; word-break: break-word; font-size: 12px; }
td.problem { color: var(--bad); max-width: 28em; word-break: break-word; }
.badge { border-radius: 10px; padding: 1px 8px; color: #fff; background: var(--idle);
         white-space: nowrap; }
.verdict { color: var(--warn); font-weight: 600; }
.badge.st-succeeded { background: var(--ok); } .badge.st-failed { background: var(--bad); }
.badge.st-canceled { background: var(--warn); }
.badge.st-running, .badge.st-submitting, .badge.st-retry_wait { background: var(--run); }
tr.st-failed td { background: #fff8f8; } tr.st-canceled td { background: #fffbf0; }
td.files { white-space: nowrap; }
img.thumb { max-width: 160px; max-height: 100px; border: 1px solid #d0d7de; }
svg.timeline { max-width: 100%; height: auto; }
svg .bar { fill: var(--idle); } svg .bar.st-succeeded { fill: var(--ok); }
svg .bar.st-failed { fill: var(--bad); } svg .bar.st-canceled { fill: var(--warn); }
svg .grid { stroke: #d8dee4; } svg .tick { font-size: 11px; fill: var(--idle);
  text-anchor: middle; }
svg .label { font-size: 11px; text-anchor: end; fill: #1f2328; }
"""

# (heading, <col> class): the widths live in the style sheet.
_COLUMNS = (("#", "c-num"), ("task", "c-task"), ("status", "c-status"),
            ("attempts", "c-attempts"), ("duration", "c-duration"), ("steps", "c-steps"),
            ("output", "c-output"), ("failure", "c-failure"), ("files", "c-files"),
            ("screenshot", "c-shot"))  # fmt: skip
_FINAL_STATUSES = ("succeeded", "failed", "canceled")


def render_page(
    summary: Mapping[str, Any], table: TaskTable, results_dir: Path, generated_at: datetime
) -> str:
    batch = str(summary.get("batch") or results_dir.parent.name)
    run_key = str(summary.get("run_key") or results_dir.name)
    title = f"{batch} · {run_key}"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>batchrun report: {escape(title)}</title><style>{_STYLE}</style></head>",
            "<body><header>",
            f"<h1>{escape(batch)}</h1>",
            f'<p class="meta">run {escape(run_key)} · {escape(str(results_dir))}'
            f" · report written {escape(generated_at.strftime('%Y-%m-%d %H:%M:%S %Z'))}</p>",
            "</header>",
            _summary_section(summary, table),
            '<section id="timeline"><h2>Runs over time</h2>',
            timeline_svg(table.rows),
            "</section>",
            _task_section(table),
            "</body></html>\n",
        ]
    )


def _summary_section(summary: Mapping[str, Any], table: TaskTable) -> str:
    by_status = Counter(row.status for row in table.rows)
    counted = {
        "total": len(table.rows),
        **{status: by_status[status] for status in _FINAL_STATUSES},
        "pending": len(table.rows) - sum(by_status[status] for status in _FINAL_STATUSES),
    }
    cards = [
        (name, summary.get(name, counted[name]))
        for name in ("total", "succeeded", "failed", "canceled", "pending")
    ]
    cards += [(name, summary[name]) for name in ("retries", "runs", "steps") if name in summary]
    wall_time = summary.get("wall_time_s")
    if isinstance(wall_time, int | float):
        cards.append(("wall time", format_duration(float(wall_time))))
    parts = ['<section id="summary"><h2>Summary</h2><div class="cards">']
    for name, value in cards:
        parts.append(
            f'<div class="card" data-name="{escape(name)}"><div class="value">'
            f'{escape(str(value))}</div><div class="name">{escape(name)}</div></div>'
        )
    parts.append("</div>")
    if summary.get("budget_exhausted"):
        parts.append('<p class="flag">The budget ran out: some tasks were left unstarted.</p>')
    if summary.get("interrupted"):
        parts.append('<p class="flag">The batch was interrupted before it finished.</p>')
    if not summary:
        parts.append('<p class="note">No summary.json: counts come from outputs.jsonl.</p>')
    if table.unreadable_lines:
        parts.append(
            f'<p class="flag">{table.unreadable_lines} unreadable line(s) of outputs.jsonl'
            " were left out.</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _task_section(table: TaskTable) -> str:
    columns = "".join(f'<col class="{css}">' for _, css in _COLUMNS)
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in _COLUMNS)
    body = "".join(_task_row(row) for row in table.rows)
    return (
        f'<section id="tasks"><h2>Tasks ({len(table.rows)})</h2><table id="task-table">'
        f"<colgroup>{columns}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        "</table></section>"
    )


def _task_row(row: ReportRow) -> str:
    css = status_class(row.status)
    task = escape(row.task_id)
    if row.task_dir is not None:
        task = f'<a href="{_href(row.task_dir)}">{task}</a>'
    app_url = _web_url(row.app_url)
    if app_url is not None:
        task += f' <a class="app" href="{escape(app_url)}">app</a>'
    output = f"<code>{escape(row.output_preview)}</code>" if row.output_preview else ""
    if row.output_verdict in ("empty", "invalid"):
        output += f' <span class="verdict">{escape(row.output_verdict)}</span>'
    files = "—"
    if row.file_count and row.task_dir is not None:
        files = f'<a href="{_href(row.task_dir + "files/")}">{row.file_count} file(s)</a>'
    shot = ""
    if row.thumbnail is not None:
        src = row.thumbnail.src
        src = src if src.startswith("data:") else _href(src)
        shot = (
            f'<a href="{_href(row.thumbnail.link)}"><img class="thumb" src="{escape(src)}"'
            f' alt="screenshot of {escape(row.task_id)}" loading="lazy"></a>'
        )
    cells = [
        f'<td class="num">{row.position}</td>',
        f'<td class="id">{task}</td>',
        f'<td><span class="badge {css}">{escape(row.status)}</span></td>',
        f'<td class="num">{_number(row.attempts)}</td>',
        f'<td class="num">{_duration(row.duration_s)}</td>',
        f'<td class="num">{_number(row.steps)}</td>',
        f'<td class="output">{output}</td>',
        f'<td class="problem">{"<br>".join(escape(text) for text in row.problems)}</td>',
        f'<td class="files">{files}</td>',
        f'<td class="shot">{shot}</td>',
    ]
    return f'<tr class="task {css}" id="task-{escape(row.task_id)}">{"".join(cells)}</tr>'


def _href(relative_path: str) -> str:
    """A relative link: every path component percent-encoded, then attribute-escaped."""
    return escape(quote(relative_path, safe="/"))


def _web_url(url: str | None) -> str | None:
    """Only http(s) links: a `javascript:` URL from a server must never become a link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else escape(format_duration(seconds))
