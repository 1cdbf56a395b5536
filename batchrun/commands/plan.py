"""`batchrun plan SPEC`: what `apply` would do for every task, without touching the network."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from batchrun.commands.common import (
    echo_location,
    load,
    locate,
    only_option,
    retry_options,
    retry_request,
    run_option,
    shard_from,
    shard_options,
    spec_argument,
    spec_input_options,
    state_option,
)
from batchrun.console.json_stream import write_document
from batchrun.decide import Action
from batchrun.inspection import select_tasks
from batchrun.ops.plan import Plan, PlannedTask, field_names, plan
from batchrun.ops.requests import next_requests

_URL_WIDTH = 48
_COLUMNS = ("task", "action", "kind", "engine", "url", "attempts")
# The summary line's wording per action, in the order it is printed.
_SUMMARY = (
    (Action.CREATE, "to create"),
    (Action.SKIP, "unchanged"),
    (Action.CHANGED, "changed"),
    (Action.RESUME, "to resume"),
    (Action.RETRY, "to retry"),
    (Action.KEEP, "ended (kept)"),
    (Action.REMOVE, "to remove"),
)


@click.command("plan")
@spec_argument
@run_option
@state_option
@only_option
@retry_options
@shard_options
@click.option(
    "--requests",
    "show_requests",
    is_flag=True,
    help="Print, per task to run, the exact request its next attempt would send (secrets "
    "masked): a dry run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@spec_input_options
def plan_command(
    spec_path: Path,
    run_key: str | None,
    state_path: Path | None,
    only: str | None,
    retry_failed: bool,
    retry_statuses: tuple[str, ...],
    shards: int | None,
    shard_index: int | None,
    show_requests: bool,
    as_json: bool,
) -> None:
    """Show what `apply` would do with each task: create, skip, changed, resume, retry, keep
    (ended, stays so) or remove (no longer in the spec). Reads the state; no network."""
    location = locate(load(spec_path), state_path, shard=shard_from(shards, shard_index))
    spec = location.spec
    selected = frozenset(select_tasks(spec, only)) if only is not None else None
    result = plan(
        location,
        run_key=run_key,
        retry=retry_request(retry_failed, retry_statuses),
        only=selected,
    )
    requests = next_requests(result) if show_requests else None
    if as_json:
        _write_json(result, requests)
        return
    echo_location(result.location, result.run_key)
    if requests is not None:
        for request in requests:
            click.echo(f"{request['task']}: {request['method']} {request['path']}")
            for name, value in request["headers"].items():
                click.echo(f"  {name}: {value}")
            click.echo("  " + json.dumps(request["body"], ensure_ascii=False))
        click.echo(summary_line(result))
        return
    click.echo(_table([_row(item) for item in result.tasks]))
    click.echo(summary_line(result))


def summary_line(result: Plan) -> str:
    """`7 to create, 2 unchanged, 1 changed, 0 to resume, 0 to retry` (+ kept, removed)."""
    counts = result.counts()
    parts = [
        f"{counts[action]} {words}"
        for action, words in _SUMMARY
        if counts[action] or action not in (Action.KEEP, Action.REMOVE)
    ]
    return ", ".join(parts)


def _row(item: PlannedTask) -> dict[str, str]:
    task = item.task
    attempts = str(item.stored.attempts if item.stored else 0)
    action = str(item.action)
    if item.changed_fields:
        action += f" ({', '.join(field_names(item.changed_fields))})"
    if task is None:
        return {"task": item.task_id, "action": action, "kind": "-", "engine": "-", "url": "-"} | {
            "attempts": attempts
        }
    target = task.request_for_attempt(1, redacted=True).body
    url = target.get("url") or (
        f"workflow {target['workflow_id']}" if task.kind == "workflow" else "-"
    )
    if len(url) > _URL_WIDTH:
        url = url[: _URL_WIDTH - 1] + "…"
    return {
        "task": task.id,
        "action": action,
        "kind": task.kind,
        "engine": task.engine or "-",
        "url": url,
        "attempts": attempts,
    }


def _table(rows: list[dict[str, str]]) -> str:
    widths = {name: max([len(name), *(len(row[name]) for row in rows)]) for name in _COLUMNS}
    lines = [[name.upper() for name in _COLUMNS]] + [
        [row[name] for name in _COLUMNS] for row in rows
    ]
    return "\n".join(
        "  ".join(
            cell.ljust(widths[name]) for cell, name in zip(line, _COLUMNS, strict=True)
        ).rstrip()
        for line in lines
    )


def _write_json(result: Plan, requests: list[dict[str, Any]] | None) -> None:
    """The plan as one JSON document, written task by task (100,000 tasks and more)."""
    spec = result.location.spec
    head = {
        "batch": spec.name,
        "spec": str(spec.path),
        "state_path": str(result.location.state_path),
        "run_key": result.run_key,
    }
    tail: dict[str, Any] = {
        "summary": {str(action): count for action, count in result.counts().items()},
        "summary_line": summary_line(result),
    }
    if requests is not None:
        tail["requests"] = requests
    items = (_json_task(item) for item in result.tasks)
    write_document(sys.stdout, head, "tasks", items, tail)


def _json_task(item: PlannedTask) -> dict[str, Any]:
    task, stored = item.task, item.stored
    body = task.request_for_attempt(1, redacted=True).body if task is not None else {}
    return {
        "task": item.task_id,
        "action": str(item.action),
        "changed_fields": list(item.changed_fields),
        "kind": task.kind if task is not None else None,
        "engine": task.engine if task is not None else None,
        "url": body.get("url"),
        "workflow_id": body.get("workflow_id"),
        "attempts": stored.attempts if stored else 0,
        "state": stored.state if stored else None,
        "end_status": stored.end_status if stored else None,
        "content_hash": task.content_hash if task is not None else None,
        "stored_hash": stored.content_hash if stored else None,
    }
