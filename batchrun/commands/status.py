"""`batchrun status`: where a batch instance stands, from the state file alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from batchrun.commands.common import (
    batch_options,
    echo_location,
    load,
    locate,
    shard_from,
    shard_options,
)
from batchrun.ops.context import BatchContext
from batchrun.ops.status import ATTENTION_ORDER, DEFAULT_PER_STATE, Status, status
from batchrun.ops.unchanged import find_unchanged
from batchrun.spec.source_files import DEFAULT_MAX_INPUT_BYTES
from batchrun.state import TaskRecord
from batchrun.summary import format_duration


@click.command("status")
@batch_options
@shard_options
@click.option("--all", "show_all", is_flag=True, help="List every task that needs attention.")
@click.option(
    "--task-state",
    "only_state",
    type=click.Choice(ATTENTION_ORDER),
    help="List only the tasks in this state (flagged: succeeded with an empty or invalid output).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(
    spec_path: Path,
    run_key: str | None,
    state_path: Path | None,
    shards: int | None,
    shard_index: int | None,
    show_all: bool,
    only_state: str | None,
    as_json: bool,
) -> None:
    """Counts by state first, then up to 20 tasks of each state that needs attention
    (failed, canceled, unfinished, flagged outputs); --all lists them all."""
    shard = shard_from(shards, shard_index)
    # An unchanged spec need not be expanded: the state holds its tasks (ops/unchanged.py).
    unchanged = find_unchanged(
        spec_path,
        max_input_size=DEFAULT_MAX_INPUT_BYTES,
        state=state_path,
        shard=shard,
        run_key=run_key,
    )
    spec = load(spec_path, only_ids=() if unchanged is not None else None)
    location = locate(spec, state_path, shard=shard)
    with BatchContext.open(location) as ctx:
        batch = ctx.instance(run_key)
        result = status(
            ctx,
            batch,
            per_state=None if show_all else DEFAULT_PER_STATE,
            only_state=only_state,
            spec_unchanged=unchanged is not None,
        )
        location = ctx.location
    if as_json:
        click.echo(json.dumps(_document(result, str(location.state_path)), indent=2))
        return
    echo_location(location, batch.run_key)
    summary = result.summary
    click.echo(summary.headline())
    click.echo("  " + ", ".join(f"{n} {state}" for state, n in summary.counts.items() if n))
    click.echo(
        f"  runs {summary.runs} · retries {summary.retries} · steps {summary.steps}"
        f" · wall time {format_duration(summary.wall_time_s)}"
        + (" · finished" if summary.finished else "")
    )
    if summary.stopped:
        click.echo(f"  last apply stopped: {summary.stopped.get('message', summary.stop_reason)}")
    upcoming = [f"{n} to {action}" for action, n in result.next_apply.items() if n]
    click.echo("  next apply: " + ", ".join(upcoming))
    for group, records in result.listed.items():
        click.echo("")
        click.echo(f"  {group} ({len(records) + result.hidden.get(group, 0)}):")
        for record in records:
            click.echo("    " + _line(record))
        if result.hidden.get(group):
            click.echo(f"    ... and {result.hidden[group]} more (--all or --task-state {group})")


def _line(record: TaskRecord) -> str:
    detail = record.failure_reason or record.validation_error or ""
    if record.output_verdict in ("invalid", "empty") and record.state == "succeeded":
        detail = f"output {record.output_verdict}: {record.validation_error or ''}"
    end = f" {record.end_status}" if record.end_status and record.state != "succeeded" else ""
    return f"{record.task_id}  attempts {record.attempts}{end}  {record.run_id or '-'}" + (
        f"  {detail}" if detail else ""
    )


def _document(result: Status, state_path: str) -> dict[str, Any]:
    return {
        **result.summary.as_dict(),
        # After the summary's fields: summarise() leaves its state_path empty (None).
        "state_path": state_path,
        "next_apply": {str(action): n for action, n in result.next_apply.items()},
        "tasks": [_task_json(record) for records in result.listed.values() for record in records],
        "not_listed": result.hidden,
    }


def _task_json(record: TaskRecord) -> dict[str, object]:
    return {
        "task": record.task_id,
        "state": record.state,
        "end_status": record.end_status,
        "attempts": record.attempts,
        "last_status": record.last_status,
        "failure_reason": record.failure_reason,
        "run_id": record.run_id,
        "output_verdict": record.output_verdict,
        "validation_error": record.validation_error,
    }
