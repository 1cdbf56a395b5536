"""The "Since the last run" section, from the nightly diff's optional `diff.json`.

Counts first, then the changed values (capped: the file links to diff.json for the rest).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from html import escape
from pathlib import Path
from typing import Any

from batchrun.report.sections import href, show, task_link

DIFF_NAME = "diff.json"
MAX_DIFF_BYTES = 64 * 1024 * 1024  # a larger diff is linked, not read
MAX_CHANGES = 100  # changed values shown
MAX_IDS = 20  # ids shown per list (added, removed, newly failed, recovered)
MAX_VALUE_CHARS = 80
_LISTS = (("newly_failed", "newly failed"), ("recovered", "recovered"),
          ("added", "added"), ("removed", "removed"))  # fmt: skip


def read_diff(results_dir: Path) -> dict[str, Any] | None:
    """The diff, `{}` when it is there but unreadable or too big, None when there is none."""
    path = results_dir / DIFF_NAME
    try:
        if path.stat().st_size > MAX_DIFF_BYTES:
            return {}
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def diff_section(diff: dict[str, Any] | None, shown: Collection[str]) -> str:
    if diff is None:
        return ""
    link = f'<a href="{href(DIFF_NAME)}">{DIFF_NAME}</a>'
    if not diff:
        return (
            '<section id="diff"><h2>Since the last run</h2>'
            f'<p class="flag">{link} could not be read here (malformed or too large).</p></section>'
        )
    changed = _list(diff.get("changed"))
    lists = {key: [str(task) for task in _list(diff.get(key))] for key, _ in _LISTS}
    unchanged = diff.get("unchanged")
    cards = [("changed", len(changed))] + [(label, len(lists[key])) for key, label in _LISTS]
    if isinstance(unchanged, int):
        cards.append(("unchanged", unchanged))
    parts = ['<section id="diff"><h2>Since the last run</h2>']
    if diff.get("from") or diff.get("to"):
        parts.append(
            f'<p class="meta">from run {escape(str(diff.get("from") or "?"))}'
            f" to run {escape(str(diff.get('to') or '?'))}</p>"
        )
    parts.append('<div class="cards">')
    parts += [
        f'<div class="card" data-name="{escape(name)}"><div class="value">{show(n)}</div>'
        f'<div class="name">{escape(name)}</div></div>'
        for name, n in cards
    ]
    parts.append("</div>")
    for key, label in _LISTS:
        ids = lists[key]
        if ids:
            more = f" and {len(ids) - MAX_IDS:,} more" if len(ids) > MAX_IDS else ""
            links = ", ".join(task_link(task, shown) for task in ids[:MAX_IDS])
            parts.append(f'<p class="ids"><b>{escape(label)}:</b> {links}{more}</p>')
    parts.append(_changes_table(changed, shown, link))
    parts.append("</section>")
    return "".join(parts)


def _changes_table(changed: list[Any], shown: Collection[str], link: str) -> str:
    rows: list[str] = []
    total = 0
    for entry in changed:
        if not isinstance(entry, dict):
            continue
        task = str(entry.get("task") or "")
        for change in _list(entry.get("fields")):
            if not isinstance(change, dict):
                continue
            total += 1
            if len(rows) < MAX_CHANGES:
                rows.append(
                    f'<tr><td class="long">{task_link(task, shown)}</td>'
                    f'<td class="long"><code>{escape(str(change.get("path") or ""))}</code></td>'
                    f'<td class="long">{escape(_short(change.get("from")))}</td>'
                    f'<td class="long">{escape(_short(change.get("to")))}</td></tr>'
                )
    if not rows:
        return ""
    note = ""
    if total > len(rows):
        note = (
            f'<p class="note" id="diff-cap">Showing {len(rows):,} of {total:,} changed values;'
            f" every change is in {link}.</p>"
        )
    return (
        '<div class="scroll"><table class="plain changes"><thead><tr><th>task</th><th>field</th>'
        f"<th>before</th><th>now</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"{note}"
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
