"""`batchrun status`: where a batch stands, from the state file alone."""

from __future__ import annotations

import json
from pathlib import Path

import click

from batchrun.commands.common import batch_options, existing_batch, load, open_state
from batchrun.state import TaskRecord, TaskState

_ORDER = ("succeeded", "running", "submitting", "retry_wait", "pending", "failed", "canceled")


@click.command("status")
@batch_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(
    spec_path: Path, run_key: str | None, state_path: Path | None, as_json: bool
) -> None:
    """Counts by state, and one line per task that is unfinished, failed or flagged."""
    spec = load(spec_path)
    store = open_state(state_path, spec)
    try:
        batch = existing_batch(store, spec, run_key)
        wanted = {task.id for task in spec.tasks}
        records = [r for r in store.task_records(batch.id) if r.task_id in wanted]
        usage = store.usage(batch.id)
    finally:
        store.close()
    counts = {state: 0 for state in _ORDER}
    for record in records:
        counts[record.state] = counts.get(record.state, 0) + 1
    # Tasks of the spec no `apply` has stored yet (added since, or left out by --only).
    counts["pending"] += len(wanted) - len(records)
    notable = [r for r in records if _is_notable(r)]
    if as_json:
        document = {
            "batch": spec.name,
            "run_key": batch.run_key,
            "finished": batch.finished_at is not None,
            "counts": counts,
            "runs": usage.runs,
            "steps": sum(r.total_steps for r in records),
            "tasks": [_task_json(r) for r in notable],
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"batch {spec.name}, run {batch.run_key}: {len(wanted)} tasks, {usage.runs} runs")
    click.echo("  " + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
    if notable:
        click.echo("")
        click.echo(f"  {'task':<28} {'state':<11} {'tries':>5}  {'last status':<11} run / reason")
        for record in notable:
            detail = record.failure_reason or record.validation_error or ""
            if record.output_verdict in ("invalid", "empty") and record.state == "succeeded":
                detail = f"output {record.output_verdict}: {record.validation_error or ''}"
            click.echo(
                f"  {record.task_id:<28} {record.state:<11} {record.attempts:>5}  "
                f"{record.last_status or '-':<11} {record.run_id or '-'}"
                + (f"  {detail}" if detail else "")
            )


def _is_notable(record: TaskRecord) -> bool:
    if record.state != TaskState.SUCCEEDED:
        return True
    return record.output_verdict in ("invalid", "empty")


def _task_json(record: TaskRecord) -> dict[str, object]:
    return {
        "task": record.task_id,
        "state": record.state,
        "attempts": record.attempts,
        "last_status": record.last_status,
        "failure_reason": record.failure_reason,
        "run_id": record.run_id,
        "output_verdict": record.output_verdict,
        "validation_error": record.validation_error,
    }
