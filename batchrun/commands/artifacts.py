"""`batchrun artifacts`: fetch run artifacts (screenshots, recordings, HAR, ...) of a batch."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from batchrun.api_access import ApiAccess, resolve_api_access
from batchrun.commands.common import (
    api_url_option,
    batch_options,
    only_option,
    open_batch,
)
from batchrun.errors import BatchrunError, ExitCode
from batchrun.export import ResultsDir
from batchrun.export.artifacts import requested_artifact_types
from batchrun.inspection import lookup_client, select_tasks
from batchrun.ops.artifacts import ArtifactFetchReport, TaskArtifacts, fetch_batch_artifacts
from batchrun.ops.preflight import check_results_root
from batchrun.spec import BatchSpec
from batchrun.spec.enums import ARTIFACT_TYPES
from batchrun.state import BatchRecord, StateStore

# What `--type` means when it is not given and the spec's `export:` names no type either.
DEFAULT_TYPES = ("screenshot_final", "recording")


@click.command("artifacts")
@batch_options
@only_option
@click.option(
    "--type",
    "artifact_types",
    multiple=True,
    type=click.Choice(ARTIFACT_TYPES),
    metavar="TYPE",
    help="An artifact type to fetch, e.g. screenshot_final, recording, har, html, download "
    "(repeatable). Default: the types the spec's `export:` names, else screenshot_final "
    "and recording.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The results root to write under (default: the spec's `results`).",
)
@api_url_option
def artifacts_command(
    spec_path: Path,
    run_key: str | None,
    state_path: Path | None,
    only: str | None,
    artifact_types: tuple[str, ...],
    out_dir: Path | None,
    api_url: str | None,
) -> None:
    """Fetch the artifacts of every matching task's last run into the results directory,
    under tasks/<task id>/artifacts/ (named <type>-<n><ext>), the layout the export uses.

    Exit codes: 0 every artifact saved; 1 some could not be saved (download failed, too
    large, archived) or listed; 2 bad usage; 3 the API rejected the key or could not be
    reached; 6 the results directory could not be written.
    """
    with open_batch(spec_path, state_path, out_dir) as ctx:
        spec = ctx.spec
        types = list(artifact_types) or _spec_types(spec)
        access = resolve_api_access(spec, api_url=api_url)
        batch = ctx.instance(run_key)
        tasks = select_tasks(spec, only)
        check_results_root(ctx.location.results_root)  # before any download is fetched
        results = ctx.results_for(batch)
        click.echo(f"fetching {', '.join(types)} of {len(tasks)} task(s) into {results.path}")
        report = anyio.run(_fetch, spec, ctx.store, batch, tasks, types, results, access)
    _print_summary(report)
    if not report.ok:
        raise BatchrunError(
            "some artifacts could not be saved (see above)", exit_code=ExitCode.TASKS_FAILED
        )


def _spec_types(spec: BatchSpec) -> list[str]:
    settings = spec.export
    named = requested_artifact_types(
        screenshots=settings.screenshots, recording=settings.recording, artifacts=settings.artifacts
    )
    return named or list(DEFAULT_TYPES)


async def _fetch(
    spec: BatchSpec,
    store: StateStore,
    batch: BatchRecord,
    tasks: list[str],
    types: list[str],
    results: ResultsDir,
    access: ApiAccess,
) -> ArtifactFetchReport:
    async with lookup_client(access) as client:
        return await fetch_batch_artifacts(
            client,
            store,
            batch,
            tasks,
            types,
            results,
            max_file_size=spec.export.max_file_size,
            on_task=_print_task,
        )


def _print_task(outcome: TaskArtifacts) -> None:
    if outcome.error:
        click.echo(f"  {outcome.task_id}: FAILED: {outcome.error}")
        return
    if not outcome.files:
        click.echo(f"  {outcome.task_id}: no artifacts of these types ({outcome.run_id})")
    for item in outcome.files:
        if item.error:
            click.echo(f"  {outcome.task_id}: FAILED {item.filename}: {item.error}")
        else:
            click.echo(f"  {outcome.task_id}: {item.path} ({item.size} bytes)")


def _print_summary(report: ArtifactFetchReport) -> None:
    saved = report.saved
    failed = sum(len(t.failed) for t in report.tasks)
    unlisted = sum(1 for t in report.tasks if t.error)
    parts = [f"{len(saved)} file(s) saved ({sum(f.size for f in saved)} bytes)"]
    if failed:
        parts.append(f"{failed} failed")
    if unlisted:
        parts.append(f"{unlisted} task(s) not listed")
    if report.without_run:
        parts.append(f"{len(report.without_run)} task(s) without a run yet")
    click.echo(", ".join(parts))
