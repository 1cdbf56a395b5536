"""`batchrun inspect`: one task's attempts, and its run as the API returns it now."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import click

from batchrun.api_access import ApiAccess, resolve_api_access
from batchrun.commands.common import api_url_option, batch_options, open_batch
from batchrun.inspection import (
    TaskInspection,
    add_live_view,
    lookup_client,
    read_inspection,
    render_text,
)


@click.command("inspect")
@batch_options
@click.argument("task_id", metavar="TASK")
@click.option(
    "--attempt",
    "attempt_number",
    type=click.IntRange(min=1),
    metavar="N",
    help="The attempt to look at (default: the last one that has a run).",
)
@click.option("--offline", is_flag=True, help="Only what the state file holds; no network at all.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@api_url_option
def inspect_command(
    spec_path: Path,
    run_key: str | None,
    state_path: Path | None,
    task_id: str,
    attempt_number: int | None,
    offline: bool,
    as_json: bool,
    api_url: str | None,
) -> None:
    """Show TASK's attempts and, for the chosen one, the run now: status, output, failure
    reason, step count, app link, timeline (where the run type has one) and artifacts.

    Exit codes: 0 shown; 2 unknown task, attempt or run; 3 the API rejected the key or
    could not be reached.
    """
    with open_batch(spec_path, state_path) as ctx:
        batch = ctx.instance(run_key)
        inspection = read_inspection(ctx.store, batch, ctx.spec, task_id, attempt_number)
    has_run = inspection.chosen is not None and inspection.chosen.run_id is not None
    if has_run and not offline:
        access = resolve_api_access(ctx.spec, api_url=api_url)
        secrets = ctx.secrets | {access.api_key}
        inspection = anyio.run(_live, inspection, access, secrets)
    if as_json:
        click.echo(json.dumps(inspection.as_json(), indent=2, ensure_ascii=False, default=str))
        return
    for line in render_text(inspection):
        click.echo(line)


async def _live(inspection: TaskInspection, access: ApiAccess, secrets: set[str]) -> TaskInspection:
    async with lookup_client(access) as client:
        return await add_live_view(inspection, client, secrets)
