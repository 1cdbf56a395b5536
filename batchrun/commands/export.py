"""`batchrun export`: rebuild a batch's results directory from the state."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from batchrun.api_access import ApiAccess, resolve_api_access
from batchrun.commands.common import (
    api_url_option,
    open_batch,
    results_option,
    run_option,
    spec_argument,
    state_option,
)
from batchrun.errors import BatchrunError, ExitCode, UsageError
from batchrun.ops.context import BatchContext
from batchrun.ops.export import export
from batchrun.state import BatchRecord


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
@click.option(
    "--diff",
    "with_diff",
    is_flag=True,
    help="Also write diff.json: this instance against the one before it.",
)
@click.option("--no-report", is_flag=True, help="Do not write report.html.")
def export_command(
    spec_path: Path,
    run_key: str | None,
    results_root: Path | None,
    state_path: Path | None,
    api_url: str | None,
    no_download: bool,
    with_diff: bool,
    no_report: bool,
) -> None:
    """Rebuild the results directory of a batch from the state.

    Writes outputs.jsonl, outputs.csv, summary.json, report.html and every ended task's
    directory again, and fetches downloaded files that are missing (deleted, or never saved
    because the process stopped first) through the API.

    Exit codes: 0 done; 1 some files could not be restored (or were lost when the batch ran;
    with --no-download that is only a warning); 2 bad usage; 6 the results directory could
    not be written.
    """
    with open_batch(spec_path, state_path, results_root) as ctx:
        batch = ctx.instance(run_key)
        access: ApiAccess | None = None
        missing_key: str | None = None
        if not no_download:
            try:
                access = resolve_api_access(ctx.spec, api_url=api_url)
            except UsageError as error:
                missing_key = str(error)  # everything but missing files can still be written
        diff_from = previous_instance(ctx, batch) if with_diff else None
        report = anyio.run(
            lambda: export(ctx, batch, access=access, report=not no_report, diff_from=diff_from)
        )
    click.echo(f"{report.results_dir}: {report.tasks} task(s) written")
    if report.refetched:
        click.echo(f"files fetched again for {len(report.refetched)} task(s)")
    for line in report.file_errors:
        click.echo(f"batchrun: warning: {line}", err=True)
    lost = report.summary.file_errors
    if no_download:
        # It did what it was asked: write what the state holds. What is missing is said,
        # but is not a failure of this command.
        if report.unrestored:
            click.echo(
                f"{len(report.unrestored)} task(s) have files missing on disk; "
                "run without --no-download to fetch them again"
            )
        if lost:
            click.echo(
                f"batchrun: warning: {lost} file(s) could not be saved when the batch ran "
                "(summary.json lists them)",
                err=True,
            )
        return
    for task_id, reason in report.unrestored.items():
        click.echo(
            f"batchrun: warning: {task_id}: files not restored: {missing_key or reason}", err=True
        )
    if report.unrestored or lost:
        what = []
        if report.unrestored:
            what.append(f"the files of {len(report.unrestored)} task(s) could not be restored")
        if lost:
            what.append(f"{lost} file(s) could not be saved when the batch ran")
        raise BatchrunError(
            "; ".join(what) + "; the rest of the results directory is complete",
            exit_code=ExitCode.TASKS_FAILED,
        )


def previous_instance(ctx: BatchContext, batch: BatchRecord) -> BatchRecord:
    earlier = [b for b in ctx.store.list_batches(ctx.spec.name) if b.id < batch.id]
    if not earlier:
        raise UsageError(
            f"--diff: instance {batch.run_key!r} is the first of batch {ctx.spec.name!r}; "
            "there is nothing before it to compare with"
        )
    return earlier[-1]
