"""The task table: capped rows (failed and canceled first), outputs as columns.

The table sits in its own horizontal scroll container with a fixed layout and a minimum
width from its columns, so on a narrow window it scrolls instead of squeezing the output
columns to one character per line; long values wrap anywhere, links and badges never.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from batchrun.report.chart import status_class
from batchrun.report.outputs import Cell, OutputColumns
from batchrun.report.rows import ReportRow
from batchrun.report.sections import href, show, web_url
from batchrun.summary import format_duration

# (heading, width in em): the fixed part of the table, around the output columns.
# The failure comes before the outputs: failed rows lead the table, and their reason should
# be on screen without scrolling sideways.
_LEAD = (("#", 4.5), ("task", 11.0), ("status", 7.5), ("attempts", 7.0),
         ("duration", 6.0), ("steps", 4.5), ("failure", 18.0))  # fmt: skip
_TAIL = (("files", 6.5), ("screenshot", 11.5))
OUTPUT_WIDTH_EM = 10.0
OTHER_WIDTH_EM = 18.0
CLAMP_FROM_CHARS = 40
# The table's HTML stops growing here (about 2 KB a row for 1,000 rows of long values).
TABLE_BUDGET_BYTES = 2 * 1024 * 1024


def _columns(columns: OutputColumns) -> list[tuple[str, float]]:
    """(heading, width in em) for every column, in order."""
    outputs = [(path, OUTPUT_WIDTH_EM) for path in columns.paths]
    if columns.other or not columns.paths:
        outputs.append(("other output" if columns.paths else "output", OTHER_WIDTH_EM))
    return [*_LEAD, *outputs, *_TAIL]


def table_style(columns: OutputColumns) -> str:
    """The table's minimum width: the sum of its columns, so it scrolls rather than squeezes."""
    total = sum(width for _, width in _columns(columns))
    return f"#task-table {{ min-width: {total:.1f}em; }}"


def task_rows_html(rows: list[ReportRow], columns: OutputColumns) -> list[str]:
    """The rows' HTML, stopping once TABLE_BUDGET_BYTES is spent: however long the values
    (ids, reasons, outputs are each clipped, but there are many), the page stays small."""
    rendered: list[str] = []
    spent = 0
    for row in rows:
        html = _task_row(row, columns)
        spent += len(html.encode("utf-8"))
        if row.thumbnail is not None and row.thumbnail.src.startswith("data:"):
            spent -= len(row.thumbnail.src)  # images have their own budget (EMBED_BUDGET_BYTES)
        if spent > TABLE_BUDGET_BYTES and rendered:
            break
        rendered.append(html)
    return rendered


def task_section(
    body_rows: list[str], total: int, columns: OutputColumns, results_dir: Path
) -> str:
    spec = _columns(columns)
    colgroup = "".join(f'<col style="width:{width}em">' for _, width in spec)
    headings = [f'<th title="{escape(name)}">{escape(name)}</th>' for name, _ in spec]
    headings[1] = '<th class="id" title="task">task</th>'  # sticky, like the ids below
    head = "".join(headings)
    shown = len(body_rows)
    heading = (
        f"Tasks ({show(total)})" if shown == total else f"Tasks ({show(shown)} of {show(total)})"
    )
    return (
        f'<section id="tasks"><h2>{heading}</h2>{_cap_note(shown, total, results_dir)}'
        f'<div class="scroll" id="task-scroll"><table id="task-table" class="tasks">'
        f"<colgroup>{colgroup}</colgroup><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body_rows)}</tbody></table></div></section>"
    )


def _cap_note(shown: int, total: int, results_dir: Path) -> str:
    if shown >= total:
        return ""
    links = [
        f'<a class="nowrap" href="{href(name)}">{escape(name)}</a>'
        for name in ("outputs.csv", "outputs.jsonl")
        if (results_dir / name).is_file()
    ]
    where = " or ".join(links) if links else "outputs.jsonl"
    return (
        f'<p class="note" id="table-cap">Showing {show(shown)} of {show(total)} tasks: failed'
        f" and canceled first, then the rest in spec order. Every task is in {where}.</p>"
    )


def _task_row(row: ReportRow, columns: OutputColumns) -> str:
    css = status_class(row.status)
    task = escape(row.task_id)
    if row.task_dir is not None:
        task = f'<a href="{href(row.task_dir)}">{task}</a>'
    app_url = web_url(row.app_url)
    if app_url is not None:
        task += f' <a class="app" href="{escape(app_url)}">app</a>'
    files = "—"
    if row.file_count and row.task_dir is not None:
        files = f'<a href="{href(row.task_dir + "files/")}">{row.file_count} file(s)</a>'
    shot = ""
    if row.thumbnail is not None:
        src = row.thumbnail.src
        src = src if src.startswith("data:") else href(src)
        shot = (
            f'<a href="{href(row.thumbnail.link)}"><img class="thumb" src="{escape(src)}"'
            f' alt="screenshot of {escape(row.task_id)}" loading="lazy"></a>'
        )
    status = f'<span class="badge {css}">{escape(row.status)}</span>'
    if row.output_verdict in ("empty", "invalid"):
        # Next to the status, where it is seen: an empty output of a "succeeded" task.
        status += f' <span class="verdict">{escape(row.output_verdict)}</span>'
    cells = [
        f'<td class="num">{row.position}</td>',
        f'<td class="id">{task}</td>',
        f"<td>{status}</td>",
        f'<td class="num">{_number(row.attempts)}</td>',
        f'<td class="num">{_duration(row.duration_s)}</td>',
        f'<td class="num">{_number(row.steps)}</td>',
        f'<td class="problem">{"<br>".join(escape(text) for text in row.problems)}</td>',
        *(_output_cell(cell) for cell in row.cells),
    ]
    if columns.other or not columns.paths:
        rest = escape(row.output_rest)
        if len(row.output_rest) > CLAMP_FROM_CHARS:
            rest = f'<div class="clamp" title="{rest}"><code>{rest}</code></div>'
        elif rest:
            rest = f"<code>{rest}</code>"
        cells.append(f'<td class="output">{rest}</td>')
    cells += [
        f'<td class="files">{files}</td>',
        f'<td class="shot">{shot}</td>',
    ]
    return f'<tr class="task {css}" id="task-{escape(row.task_id)}">{"".join(cells)}</tr>'


def _output_cell(cell: Cell) -> str:
    if cell.kind == "missing":
        return '<td class="output"></td>'
    kind = {"num": "output num", "null": "output null", "json": "output json"}.get(
        cell.kind, "output"
    )
    text = escape(cell.text)
    if len(cell.text) <= CLAMP_FROM_CHARS:
        return f'<td class="{kind}">{text}</td>'
    # A long value is clamped to three lines (the whole of it on hover), so one URL does not
    # make every row ten lines tall.
    return f'<td class="{kind}"><div class="clamp" title="{text}">{text}</div></td>'


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else escape(format_duration(seconds))
