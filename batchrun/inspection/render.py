"""`batchrun inspect` for people: the attempts as a table, then the chosen run in a few lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from batchrun.inspection.report import TaskInspection

MAX_VALUE_CHARS = 400  # longer outputs are cut here; `--json` shows them whole
MAX_TIMELINE_LINES = 40


def render_text(inspection: TaskInspection) -> list[str]:
    return list(_lines(inspection))


def _lines(view: TaskInspection) -> Iterator[str]:
    record = view.record
    header = f"task {view.task_id} of batch {view.spec_name} (run {view.batch.run_key})"
    if record is None:
        yield f"{header}: not submitted yet"
    else:
        yield f"{header}: {record.state}, {len(view.attempts)} attempt(s)"
    if view.attempts:
        yield ""
        yield f"    {'#':>3}  {'phase':<11} {'run':<30} {'status':<11} {'steps':>5}  reason"
        for attempt in view.attempts:
            mark = "*" if view.chosen is not None and attempt.number == view.chosen.number else " "
            yield (
                f"  {mark} {attempt.number:>3}  {attempt.phase:<11} {attempt.run_id or '-':<30} "
                f"{attempt.status or '-':<11} {_or_dash(attempt.step_count):>5}  "
                f"{attempt.failure_reason or ''}"
            ).rstrip()
    if view.note:
        yield ""
        yield view.note
    if record is not None and view.attempts:
        yield ""
        yield "in the state:"
        yield from _field("output verdict", record.output_verdict)
        yield from _field("validation error", record.validation_error)
        yield from _field("failure reason", record.failure_reason)
        stored = view.stored_response
        if stored is not None:
            yield from _field("final status", stored.get("status"))
            yield from _field("steps", stored.get("step_count"))
        yield from _field("app", record.app_url)
        yield from _field("output", _short(record.output))
    if view.live is not None and view.chosen is not None:
        yield from _live_lines(view)
    elif view.chosen is not None and view.chosen.run_id is not None:
        yield ""
        yield "(offline: the run was not read from the API)"


def _live_lines(view: TaskInspection) -> Iterator[str]:
    live = view.live
    assert live is not None and view.chosen is not None
    run = live.run
    yield ""
    yield f"run {run.get('run_id')} (attempt {view.chosen.number}), as the API returns it now:"
    yield from _field("status", _status(run))
    yield from _field("run type", run.get("run_type"))
    yield from _field("steps", run.get("step_count"))
    yield from _field("failure reason", run.get("failure_reason"))
    yield from _field("created", _when(run.get("created_at")))
    yield from _field("finished", _when(run.get("finished_at")))
    yield from _field("app", run.get("app_url"))
    yield from _field("output", _short(run.get("output")))
    yield ""
    if live.timeline is None:
        yield f"timeline: {live.timeline_note}"
    else:
        yield f"timeline ({len(live.timeline)} entries, newest first):"
        lines = list(_timeline_lines(live.timeline, depth=1))
        yield from lines[:MAX_TIMELINE_LINES]
        if len(lines) > MAX_TIMELINE_LINES:
            yield f"  ... {len(lines) - MAX_TIMELINE_LINES} more (--json shows all)"
    yield ""
    if live.artifacts is None:
        yield f"artifacts: {live.artifacts_note}"
    elif not live.artifacts:
        yield "artifacts: none"
    else:
        yield f"artifacts ({len(live.artifacts)}):"
        for artifact in live.artifacts:
            size = artifact.get("file_size")
            archived = "  (archived)" if artifact.get("archived") else ""
            artifact_id = artifact.get("artifact_id") or "-"
            kind = artifact.get("artifact_type") or "-"
            created = _when(artifact.get("created_at")) or ""
            yield f"  {artifact_id:<24} {kind:<22} {_size(size):>9}  {created}{archived}".rstrip()


def _timeline_lines(entries: list[Any], depth: int) -> Iterator[str]:
    indent = "  " * depth
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        block = entry.get("block") or {}
        thought = entry.get("thought") or {}
        if entry.get("type") == "block" or block:
            label = block.get("label") or block.get("workflow_run_block_id") or "?"
            kind = block.get("block_type") or "block"
            reason = block.get("failure_reason")
            yield (
                f"{indent}block {label} ({kind}) {block.get('status') or '-'}"
                + (f": {reason}" if reason else "")
            )
        else:
            text = thought.get("thought") or thought.get("answer") or thought.get("observation")
            yield f"{indent}thought: {_short(text, 100) or '-'}"
        yield from _timeline_lines(entry.get("children") or [], depth + 1)


def _field(label: str, value: Any) -> Iterator[str]:
    if value is None or value == "":
        return
    yield f"  {label + ':':<18} {value}"


def _status(run: dict[str, Any]) -> str:
    status = str(run.get("status"))
    if run.get("retry_pending"):
        status += f" (retry pending, next attempt at {_when(run.get('next_attempt_at'))})"
    return status


def _short(value: Any, limit: int = MAX_VALUE_CHARS) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} chars; --json shows all)"


def _when(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _size(size: Any) -> str:
    if not isinstance(size, int):
        return "-"
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)
