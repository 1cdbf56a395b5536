"""The report's smaller sections: summary cards and flags, failure groups, top-10 lists.

Every value comes from files whose content came from the web: all of it is HTML-escaped,
and links are built only from path components quoted here (see `href`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from batchrun.report.chart import status_class
from batchrun.report.rows import FINAL_STATUSES, as_number, is_plain_component
from batchrun.report.scan import FailureGroup, Overview, TaskFigure
from batchrun.summary import format_duration

MAX_FAILURE_GROUPS = 30
_TIMES = (
    ("wall time", "wall_time_s"),
    ("active time", "active_time_s"),
    ("queued time", "queued_time_s"),
    ("expected wall time", "expected_wall_time_s"),
)


def href(relative_path: str) -> str:
    """A relative link: every path component percent-encoded, then attribute-escaped."""
    return escape(quote(relative_path, safe="/"))


def web_url(url: Any) -> str | None:
    """Only http(s) links: a `javascript:` URL from a server must never become a link."""
    if not isinstance(url, str) or not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def show(value: Any) -> str:
    """A figure as text: thousands separated, so 100,000 reads at a glance."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def task_link(task_id: str, shown: Collection[str]) -> str:
    """To the task's row when the table shows it, else to its directory, else plain text."""
    text = escape(task_id)
    if task_id in shown:
        return f'<a href="#{href("task-" + task_id)}">{text}</a>'
    if is_plain_component(task_id):
        return f'<a href="{href("tasks/" + task_id + "/")}">{text}</a>'
    return text


def summary_section(summary: Mapping[str, Any], view: Overview) -> str:
    """Cards from summary.json (the single count); from outputs.jsonl only when it is missing."""
    final = sum(view.by_status[status] for status in FINAL_STATUSES)
    derived: dict[str, Any] = {
        "total": view.total,
        **{status: view.by_status[status] for status in FINAL_STATUSES},
        "pending": view.total - final,
    }
    cards = [
        (name, summary.get(name, derived[name]))
        for name in ("total", "succeeded", "failed", "canceled", "pending")
    ]
    counts = summary.get("counts") if summary else view.by_status
    if isinstance(counts, Mapping):
        # In-between states (running, retry_wait...) of an unfinished batch, as counted.
        cards += [
            (str(state), n)
            for state, n in counts.items()
            if state not in (*FINAL_STATUSES, "pending") and isinstance(n, int) and n
        ]
    if summary:
        cards += [(name, summary[name]) for name in ("runs", "retries", "steps") if name in summary]
        if isinstance(summary.get("file_errors"), int):
            cards.append(("file errors", summary["file_errors"]))
        for label, key in _TIMES:
            seconds = as_number(summary.get(key))
            if seconds is not None:
                cards.append((label, format_duration(seconds)))
    else:
        # Sums over outputs.jsonl; a field no record carries is left out rather than shown as 0.
        cards += [(name, n) for name, n in (("runs", view.runs), ("steps", view.steps)) if n]
        if view.first_start and view.last_finish:
            span = (view.last_finish - view.first_start).total_seconds()
            cards.append(("wall time", format_duration(span)))
    parts = ['<section id="summary"><h2>Summary</h2><div class="cards">']
    for name, value in cards:
        parts.append(
            f'<div class="card" data-name="{escape(name)}"><div class="value">'
            f'{escape(show(value))}</div><div class="name">{escape(name)}</div></div>'
        )
    parts.append("</div>")
    parts += _flags(summary, view)
    parts.append("</section>")
    return "".join(parts)


def _flags(summary: Mapping[str, Any], view: Overview) -> list[str]:
    flags: list[str] = []
    if summary.get("interrupted"):
        flags.append("The batch was interrupted before it finished.")
    if summary.get("budget_exhausted"):
        flags.append("The budget ran out: some tasks were left unstarted.")
    halted = summary.get("halted")
    if halted:
        reason = halted.get("reason") if isinstance(halted, Mapping) else None
        flags.append(f"The batch was halted: {reason}." if reason else "The batch was halted.")
    file_errors = summary.get("file_errors") if summary else view.file_error_tasks
    if isinstance(file_errors, int) and file_errors:
        what = "file error(s)" if summary else "task(s) with file errors"
        flags.append(f"{file_errors:,} {what}: some downloaded files are missing.")
    if summary.get("finished") is False and not summary.get("interrupted"):
        flags.append("The batch has not finished yet: these are partial results.")
    parts = [f'<p class="flag" data-flag>{escape(text)}</p>' for text in flags]
    if not summary:
        parts.append('<p class="note">No summary.json: counts come from outputs.jsonl.</p>')
    if view.unreadable:
        parts.append(
            f'<p class="flag" data-flag>{view.unreadable:,} unreadable line(s) of outputs.jsonl'
            " were left out.</p>"
        )
    return parts


def failures_section(view: Overview, shown: Collection[str]) -> str:
    if not view.failures and not view.ungrouped_failures:
        return ""
    rows = "".join(_failure_row(group, shown) for group in view.failures[:MAX_FAILURE_GROUPS])
    parts = [
        '<section id="failures"><h2>Failures by reason</h2><div class="scroll">',
        '<table class="plain failures"><thead><tr><th class="num">tasks</th><th>status</th>'
        f"<th>reason</th><th>examples</th></tr></thead><tbody>{rows}</tbody></table></div>",
    ]
    hidden = len(view.failures) - MAX_FAILURE_GROUPS
    if hidden > 0:
        parts.append(f'<p class="note">{hidden:,} rarer reason(s) not shown.</p>')
    if view.ungrouped_failures:
        parts.append(
            f'<p class="note">{view.ungrouped_failures:,} failure(s) past the first'
            " distinct reasons were counted but not grouped.</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _failure_row(group: FailureGroup, shown: Collection[str]) -> str:
    status = f'<span class="badge {status_class(group.status)}">{escape(group.status)}</span>'
    if group.end_status and group.end_status != group.status:
        status += f' <span class="end">{escape(group.end_status)}</span>'
    examples = ", ".join(task_link(task_id, shown) for task_id in group.examples)
    return (
        f'<tr><td class="num">{group.count:,}</td><td class="nowrap">{status}</td>'
        f'<td class="long">{escape(group.reason)}</td><td class="long">{examples}</td></tr>'
    )


def top_section(view: Overview, shown: Collection[str]) -> str:
    if not view.slowest and not view.most_steps:
        return ""
    lists = [
        _top_table("Slowest tasks", "duration", view.slowest, shown, format_duration),
        _top_table("Most steps", "steps", view.most_steps, shown, lambda n: f"{int(n):,}"),
    ]
    return f'<section id="top"><div class="tops">{"".join(lists)}</div></section>'


def _top_table(title: str, unit: str, figures: list[TaskFigure], shown: Collection[str],
               fmt: Any) -> str:  # fmt: skip
    if not figures:
        return ""
    rows = "".join(
        f'<tr><td class="long">{task_link(figure.task_id, shown)}</td>'
        f'<td><span class="badge {status_class(figure.status)}">{escape(figure.status)}</span>'
        f'</td><td class="num">{escape(fmt(figure.value))}</td></tr>'
        for figure in figures
    )
    return (
        f'<div class="top"><h2>{escape(title)}</h2><table class="plain">'
        f'<thead><tr><th>task</th><th>status</th><th class="num">{escape(unit)}</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></div>"
    )
