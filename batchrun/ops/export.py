"""`export`: rebuild an instance's results directory from the state.

Everything but downloaded files and artifacts is derived from the state, so it is simply
written again. Files are fetched again (through the one `export_task`) only where they are
missing: deleted, or never saved because the process died first. That needs the API; with
`download=False` or no API key everything else is still written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from batchrun.api_access import ApiAccess
from batchrun.client import SkyvernClient
from batchrun.export import remove_stale_temp_files
from batchrun.export.task_export import ExportSettings, RunFilesClient, export_task
from batchrun.ops.context import BatchContext
from batchrun.ops.diff import write_instance_diff
from batchrun.ops.preflight import check_results_root
from batchrun.ops.results import artifact_types, write_summary_and_report
from batchrun.state import FINAL_TASK_STATES, BatchLock, BatchRecord
from batchrun.summary import BatchSummary, summarise


@dataclass
class ExportReport:
    results_dir: Path
    summary: BatchSummary
    tasks: int = 0  # task directories written
    refetched: list[str] = field(default_factory=list)  # tasks whose files were fetched again
    unrestored: dict[str, str] = field(default_factory=dict)  # task id -> why not
    file_errors: list[str] = field(default_factory=list)  # "<task>: <file>: <error>"
    report_path: Path | None = None


async def export(
    ctx: BatchContext,
    batch: BatchRecord,
    *,
    access: ApiAccess | None,
    report: bool = True,
    diff_from: BatchRecord | None = None,
) -> ExportReport:
    """Rewrite the results of `batch`; fetch missing files when `access` is given.

    Takes the batch lock: it removes temporary files an active writer would own."""
    check_results_root(ctx.location.results_root)
    with BatchLock(ctx.location.state_path, ctx.spec.name, batch.run_key):
        if access is None:
            return await _export(ctx, batch, None, report, diff_from)
        async with SkyvernClient(access.base_url, access.api_key) as client:
            return await _export(ctx, batch, client, report, diff_from)


async def _export(
    ctx: BatchContext,
    batch: BatchRecord,
    client: RunFilesClient | None,
    report: bool,
    diff_from: BatchRecord | None,
) -> ExportReport:
    store, spec = ctx.store, ctx.spec
    results = ctx.results_for(batch)
    remove_stale_temp_files(results.path)
    settings = ExportSettings(artifact_types(spec), spec.export.max_file_size)
    wanted = {task.id for task in spec.tasks}
    tasks = 0
    refetched: list[str] = []
    unrestored: dict[str, str] = {}
    file_errors: list[str] = []
    # Read one record at a time: a 100,000-task batch is never in memory.
    for record in store.task_records(batch.id):
        if record.task_id not in wanted or record.state not in FINAL_TASK_STATES:
            continue
        done = await export_task(
            store, batch, results, record, settings, client=client, refetch=False
        )
        tasks += 1
        if done.fetched:
            refetched.append(record.task_id)
        if done.unrestored is not None:
            unrestored[record.task_id] = done.unrestored
        file_errors += [f"{record.task_id}: {error}" for error in done.file_errors]
    results.write_tables(r for r in store.table_rows(batch.id) if r.task_id in wanted)
    summary = summarise(
        store,
        batch,
        wanted,
        results_dir=results.path,
        spec_path=spec.path,
        state_path=ctx.location.state_path,
    )
    outcome = ExportReport(results.path, summary, tasks, refetched, unrestored, file_errors)
    if diff_from is not None:
        write_instance_diff(store, spec, diff_from, batch, results.path)
    outcome.report_path = write_summary_and_report(
        results, outcome.summary, report=report, extra=ctx.location.summary_fields()
    )
    return outcome
