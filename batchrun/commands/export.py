"""`batchrun export`: rebuild a batch's results directory from the state."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from batchrun.api_access import resolve_api_access
from batchrun.apply import results_dir_for
from batchrun.client import SkyvernClient
from batchrun.commands.common import (
    api_url_option,
    existing_batch,
    load,
    open_state,
    results_option,
    run_option,
    spec_argument,
    state_option,
)
from batchrun.errors import BatchrunError, ExitCode, UsageError
from batchrun.export.artifacts import requested_artifact_types
from batchrun.export.rebuild import RebuildReport, rebuild_results
from batchrun.export.results_dir import ResultsDir
from batchrun.report import write_report
from batchrun.spec import BatchSpec
from batchrun.state import BatchLock, BatchRecord, StateStore


@click.command("export")
@spec_argument
@run_option
@results_option
@state_option
@api_url_option
@click.option(
    "--no-download",
    is_flag=True,
    help="Do not fetch missing downloaded files again; write only what the state holds.",
)
@click.option("--no-report", is_flag=True, help="Do not write report.html.")
def export_command(
    spec_path: Path,
    run_key: str | None,
    results_root: Path | None,
    state_path: Path | None,
    api_url: str | None,
    no_download: bool,
    no_report: bool,
) -> None:
    """Rebuild the results directory of a batch from the state.

    Writes outputs.jsonl, outputs.csv, summary.json, report.html and every finished task's
    directory again, and fetches downloaded files that are missing (deleted, or never saved
    because the process stopped first) through the API.
    """
    spec = load(spec_path)
    store = open_state(state_path, spec)
    try:
        batch = existing_batch(store, spec, run_key)
        results = results_dir_for(spec, batch, results_root)
        with BatchLock(store.path, spec.name, batch.run_key):
            report = anyio.run(_rebuild, spec, store, batch, results, api_url, no_download)
    finally:
        store.close()
    if not no_report:
        write_report(results.path)
    click.echo(f"{results.path}: {report.tasks} task(s) written")
    if report.refetched:
        click.echo(f"files fetched again for {len(report.refetched)} task(s)")
    for line in report.file_errors:
        click.echo(f"batchrun: warning: {line}", err=True)
    if report.unrestored:
        for task_id, reason in report.unrestored.items():
            click.echo(f"batchrun: warning: {task_id}: files not restored: {reason}", err=True)
        raise BatchrunError(
            f"the files of {len(report.unrestored)} task(s) could not be restored; "
            "the rest of the results directory is complete",
            exit_code=ExitCode.TASKS_FAILED,
        )


async def _rebuild(
    spec: BatchSpec,
    store: StateStore,
    batch: BatchRecord,
    results: ResultsDir,
    api_url: str | None,
    no_download: bool,
) -> RebuildReport:
    settings = spec.export
    task_ids = {task.id for task in spec.tasks}
    artifact_types = requested_artifact_types(
        screenshots=settings.screenshots, recording=settings.recording, artifacts=settings.artifacts
    )

    async def rebuild(client: SkyvernClient | None) -> RebuildReport:
        return await rebuild_results(
            store,
            batch,
            results,
            client=client,
            task_ids=task_ids,
            artifact_types=artifact_types,
            max_file_size=settings.max_file_size,
        )

    if no_download:
        return await rebuild(None)
    try:
        access = resolve_api_access(spec, api_url=api_url)
    except UsageError as missing_key:
        # Everything but missing files can be rebuilt without the API; say why files were not.
        report = await rebuild(None)
        for task_id in report.unrestored:
            report.unrestored[task_id] = str(missing_key)
        return report
    async with SkyvernClient(access.base_url, access.api_key) as client:
        return await rebuild(client)
