"""`batchrun plan SPEC`: what `apply` would do for every task, without touching the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from batchrun.commands.validate import echo_spec_error
from batchrun.errors import ExitCode
from batchrun.plan import PlannedTask, plan_tasks, summary_counts, summary_line
from batchrun.spec import BatchSpec, SpecError, load_spec
from batchrun.state import read_task_views

_URL_WIDTH = 48
_COLUMNS = ("task", "action", "kind", "engine", "url", "attempts")


@click.command("plan")
@click.argument("spec_path", metavar="SPEC")
@click.option("--run", "run_key", metavar="KEY", help="The batch instance (default: the latest).")
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="BATCHRUN_STATE",
    help="The state file (default .batchrun/state.db; env BATCHRUN_STATE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_context
def plan_command(
    ctx: click.Context, spec_path: str, run_key: str | None, state_path: Path | None, as_json: bool
) -> None:
    """Show what `apply` would do: create, skip, changed, resume or retry, per task."""
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        echo_spec_error(exc)
        ctx.exit(int(ExitCode.USAGE))
    planned = plan_tasks(spec.tasks, read_task_views(state_path, spec.name, run_key))
    if as_json:
        click.echo(json.dumps(_plan_document(spec, spec_path, planned), indent=2))
        return
    click.echo(_table([_row(item) for item in planned]))
    click.echo(summary_line(summary_counts(planned)))


def _row(item: PlannedTask) -> dict[str, str]:
    task = item.task
    target = task.request_for_attempt(1, redacted=True).body
    url = target.get("url") or (
        f"workflow {target['workflow_id']}" if task.kind == "workflow" else "-"
    )
    if len(url) > _URL_WIDTH:
        url = url[: _URL_WIDTH - 1] + "…"
    return {
        "task": task.id,
        "action": str(item.action),
        "kind": task.kind,
        "engine": task.engine or "-",
        "url": url,
        "attempts": str(item.stored.attempts if item.stored else 0),
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


def _plan_document(spec: BatchSpec, spec_path: str, planned: list[PlannedTask]) -> dict[str, Any]:
    counts = summary_counts(planned)
    return {
        "batch": spec.name,
        "spec": spec_path,
        "tasks": [
            {
                "task": item.task.id,
                "action": str(item.action),
                "kind": item.task.kind,
                "engine": item.task.engine,
                "url": item.task.request_for_attempt(1, redacted=True).body.get("url"),
                "workflow_id": item.task.request_for_attempt(1).body.get("workflow_id"),
                "attempts": item.stored.attempts if item.stored else 0,
                "content_hash": item.task.content_hash,
                "stored_hash": item.stored.content_hash if item.stored else None,
                "run_id": item.stored.run_id if item.stored else None,
                "last_status": item.stored.last_status if item.stored else None,
            }
            for item in planned
        ],
        "summary": {str(action): count for action, count in counts.items()},
        "summary_line": summary_line(counts),
    }
