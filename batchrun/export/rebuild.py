"""Rebuilding a batch's results directory from the state (`batchrun export`).

Everything but the downloaded files and artifacts is derived from the state, so it is simply
written again. Files are fetched again only where they are missing (deleted, never exported
because the process died first): that needs the API, and a fresh GET of the run for links
that have not expired.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batchrun.client.errors import SkyvernError
from batchrun.client.models import RunResponse, TimelineEntry, artifact_owner_id
from batchrun.export.artifacts import ArtifactClient, download_artifacts
from batchrun.export.atomic import remove_stale_temp_files
from batchrun.export.downloads import download_run_files
from batchrun.export.exported import ExportedFile
from batchrun.export.results_dir import SUMMARY_FILE, ResultsDir
from batchrun.state import FINAL_TASK_STATES, BatchRecord, StateStore, TaskRecord, TaskState
from batchrun.summary import BatchSummary, FailedTask


class RunFilesClient(ArtifactClient, Protocol):
    async def get_run(self, run_id: str) -> RunResponse: ...

    async def get_run_timeline(self, run_id: str) -> Sequence[TimelineEntry]: ...


@dataclass
class RebuildReport:
    tasks: int = 0  # task directories written
    refetched: list[str] = field(default_factory=list)  # tasks whose files were fetched again
    # task id -> why its files could not be restored
    unrestored: dict[str, str] = field(default_factory=dict)
    file_errors: list[str] = field(default_factory=list)  # "<task>: <file>: <error>"


async def rebuild_results(
    store: StateStore,
    batch: BatchRecord,
    results: ResultsDir,
    *,
    client: RunFilesClient | None,
    task_ids: Collection[str] | None = None,
    artifact_types: Sequence[str] = (),
    max_file_size: int,
) -> RebuildReport:
    """Write `results` again from the state; fetch missing files when `client` is given.

    `task_ids` limits the tables to the tasks of the current spec, as `apply` does. Run it
    only while holding the batch lock: it removes temporary files an active writer would own.
    """
    report = RebuildReport()
    remove_stale_temp_files(results.path)

    def selected() -> Iterator[TaskRecord]:
        # Read afresh each time, one record at a time: a 100,000-task batch is never in memory.
        for record in store.task_records(batch.id):
            if task_ids is None or record.task_id in task_ids:
                yield record

    for record in selected():
        if record.state in FINAL_TASK_STATES:
            record = await _restore_files(
                store, batch, results, record, client, artifact_types, max_file_size, report
            )
            results.write_task(record)
            report.tasks += 1
    results.write_tables(selected())
    summary = _saved_summary(store, batch)
    if summary is not None or not (results.path / SUMMARY_FILE).exists():
        results.write_summary(summary or _derived_summary(store, batch, selected(), results.path))
    return report


async def _restore_files(
    store: StateStore,
    batch: BatchRecord,
    results: ResultsDir,
    record: TaskRecord,
    client: RunFilesClient | None,
    artifact_types: Sequence[str],
    max_file_size: int,
    report: RebuildReport,
) -> TaskRecord:
    if record.run_id is None or not _needs_fetch(record, results.path):
        return record
    if client is None:
        report.unrestored[record.task_id] = "no API access to fetch its files again"
        return record
    try:
        run = await client.get_run(record.run_id)
        run_id = record.run_id
        files: list[ExportedFile] = []
        if run.downloaded_files:
            files += await download_run_files(
                client,
                run,
                results.files_dir(record.task_id),
                results_root=results.path,
                max_file_size=max_file_size,
                refresh_run=lambda: client.get_run(run_id),
            )
        if artifact_types:
            files += await download_artifacts(
                client,
                artifact_owner_id(run.run_id, run.app_url),
                artifact_types,
                results.artifacts_dir(record.task_id),
                results_root=results.path,
                max_file_size=max_file_size,
            )
        timeline = record.timeline
        if timeline is None and not record.exported and record.state == TaskState.FAILED:
            timeline = await _timeline(client, run_id)
    except SkyvernError as exc:
        report.unrestored[record.task_id] = str(exc)
        return record
    report.refetched.append(record.task_id)
    report.file_errors += [
        f"{record.task_id}: {f.filename or '(unnamed)'}: {f.error}" for f in files if f.error
    ]
    store.record_export(
        batch.id, record.task_id, files=[f.as_dict() for f in files], timeline=timeline
    )
    restored = store.task_record(batch.id, record.task_id)
    assert restored is not None  # it was just read
    return restored


async def _timeline(client: RunFilesClient, run_id: str) -> list[Any] | None:
    try:
        entries = await client.get_run_timeline(run_id)
    except SkyvernError:
        return None  # only workflow and skyvern-2.0 runs have one (400 otherwise)
    return [entry.model_dump(mode="json") for entry in entries]


def _needs_fetch(record: TaskRecord, batch_dir: Path) -> bool:
    if not record.exported:
        return True  # the run finished but the process stopped before its files were saved
    for value in record.files:
        exported = ExportedFile.from_value(value)
        if not exported.path:
            continue  # never kept (too large, corrupt): fetching again would end the same
        on_disk = batch_dir / exported.path
        # Size, not hash: rehashing gigabytes on every export would make it slow, and a
        # same-sized silent change inside a results directory is not a realistic failure.
        if not on_disk.is_file() or on_disk.stat().st_size != exported.size:
            return True
    return False


def _saved_summary(store: StateStore, batch: BatchRecord) -> dict[str, Any] | None:
    """The summary `apply` recorded with its `batch_finished` event, if it did."""
    finished = [e for e in store.events(batch.id, kind="batch_finished") if e["data"]]
    return dict(finished[-1]["data"]) if finished else None


def _derived_summary(
    store: StateStore, batch: BatchRecord, records: Iterable[TaskRecord], batch_dir: Path
) -> dict[str, Any]:
    """A summary from the state alone, for a directory that lost the one `apply` wrote.

    Counts, runs and steps are exact; retries count every attempt after a task's first, and
    the wall time is the span from the batch's creation to its last finish.
    """
    counts = dict.fromkeys(TaskState, 0)
    retries = steps = 0
    failed_tasks: list[FailedTask] = []
    for r in records:
        counts[TaskState(r.state)] += 1
        retries += max(0, r.attempts - 1)
        steps += r.total_steps
        if r.state in (TaskState.FAILED, TaskState.CANCELED):
            failed_tasks.append(
                FailedTask(r.task_id, r.failure_reason or r.state, r.run_id, r.attempts)
            )
    total = sum(counts.values())
    end = batch.finished_at
    return BatchSummary(
        batch=batch.spec_name,
        run_key=batch.run_key,
        total=total,
        succeeded=counts[TaskState.SUCCEEDED],
        failed=counts[TaskState.FAILED],
        canceled=counts[TaskState.CANCELED],
        pending=total - sum(counts[s] for s in FINAL_TASK_STATES),
        retries=retries,
        runs=store.usage(batch.id).runs,
        steps=steps,
        wall_time_s=round((end - batch.created_at).total_seconds(), 3) if end else 0.0,
        results_dir=batch_dir,
        budget_exhausted=False,
        interrupted=end is None,
        failed_tasks=failed_tasks,
        spec_path=Path(batch.spec_path) if batch.spec_path else None,
    ).as_dict()
