"""`batchrun cancel`: cancel a batch's runs in flight and mark its unfinished tasks canceled."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from batchrun.api_access import resolve_api_access
from batchrun.commands.common import api_url_option, batch_options, open_batch
from batchrun.ops.cancel import cancel


@click.command("cancel")
@batch_options
@api_url_option
def cancel_command(
    spec_path: Path, run_key: str | None, state_path: Path | None, api_url: str | None
) -> None:
    """Cancel every remote run in flight for the batch and mark its unfinished tasks canceled.

    A running `apply` of the same batch sees the cancellation and submits nothing more.
    """
    with open_batch(spec_path, state_path) as ctx:
        spec = ctx.spec
        access = resolve_api_access(spec, api_url=api_url)
        batch = ctx.instance(run_key)
        report = anyio.run(cancel, ctx.store, batch, access)
    click.echo(
        f"canceled {len(report.canceled_runs)} run(s) in flight and "
        f"{report.canceled_tasks} unfinished task(s) of batch {spec.name} (run {batch.run_key})"
    )
    for run_id, reason in report.not_canceled.items():
        click.echo(f"  run {run_id} was not canceled: {reason}")
