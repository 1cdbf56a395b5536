"""`batchrun runs SPEC`: the spec's batch instances (run keys), oldest first."""

from __future__ import annotations

import json
from pathlib import Path

import click

from batchrun.commands.common import open_batch, spec_argument, state_option
from batchrun.ops.runs import Instance, instances


@click.command("runs")
@spec_argument
@state_option
@click.option("--json", "as_json", is_flag=True, help="Print the instances as JSON.")
def runs_command(spec_path: Path, state_path: Path | None, as_json: bool) -> None:
    """List the batch instances of SPEC: run key, created, last applied, finished or not,
    tasks by state. `--run KEY` picks one in every other command."""
    with open_batch(spec_path, state_path) as ctx:
        found = instances(ctx)
        state = ctx.location.state_path
    if as_json:
        click.echo(json.dumps([_json(item) for item in found], indent=2))
        return
    click.echo(f"state {state}")
    click.echo(f"{'RUN KEY':<22} {'CREATED':<20} {'LAST APPLIED':<20} {'FINISHED':<8}  TASKS")
    for item in found:
        batch, summary = item.batch, item.summary
        counts = ", ".join(f"{n} {state}" for state, n in summary.counts.items() if n)
        click.echo(
            f"{batch.run_key:<22} {_when(batch.created_at):<20} {_when(batch.updated_at):<20} "
            f"{'yes' if summary.finished else 'no':<8}  {counts}"
        )


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"  # type: ignore[attr-defined]


def _json(item: Instance) -> dict[str, object]:
    batch, summary = item.batch, item.summary
    return {
        "run_key": batch.run_key,
        "created_at": batch.created_at.isoformat(),
        "last_applied_at": batch.updated_at.isoformat() if batch.updated_at else None,
        "finished": summary.finished,
        "counts": summary.counts,
        "total": summary.total,
        "runs": summary.runs,
    }
