"""Exporting one ended task into the results directory: the ONE path, live and rebuild.

`apply` calls it as soon as a task ends (signed links expire, so files are fetched at
once); `batchrun export` calls it to rebuild a directory, fetching again only what is
missing on disk. Either way the task's directory ends up holding exactly its last run's
downloaded files (`files/`, listed in files.json) and artifacts (`artifacts/`, listed in
artifacts.json), with the state recording both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import anyio

from batchrun.client.errors import SkyvernError
from batchrun.client.models import Artifact, RunResponse, TimelineEntry, artifact_owner_id
from batchrun.export.artifacts import ArtifactClient, download_artifacts
from batchrun.export.downloads import download_run_files
from batchrun.export.exported import ExportedFile
from batchrun.export.results_dir import ResultsDir
from batchrun.state import BatchRecord, StateStore, TaskRecord, TaskState, now_utc

# How long after a run ends its artifacts may still be appearing in its list: a server
# lists a skyvern-1.0 run's final screenshot about 0.3 s after the run reads final.
ARTIFACT_SETTLE_S = 3.0


class RunFilesClient(ArtifactClient, Protocol):
    async def get_run(self, run_id: str) -> RunResponse: ...

    async def get_run_timeline(self, run_id: str) -> Sequence[TimelineEntry]: ...


@dataclass(frozen=True)
class ExportSettings:
    artifact_types: tuple[str, ...]
    max_file_size: int


@dataclass
class TaskExport:
    """What exporting one task came to."""

    record: TaskRecord
    fetched: bool = False  # files were fetched from the API
    unrestored: str | None = None  # why its files could not be fetched (None: they were)
    file_errors: list[str] = field(default_factory=list)  # "<file>: <error>"


async def export_task(
    store: StateStore,
    batch: BatchRecord,
    results: ResultsDir,
    record: TaskRecord,
    settings: ExportSettings,
    *,
    client: RunFilesClient | None,
    run: RunResponse | None = None,
    refetch: bool = True,
) -> TaskExport:
    """Write one ended task's directory; fetch its files when `refetch` or when they are
    missing on disk (and a client is given)."""
    if record.run_id is None or not (refetch or needs_fetch(record, results.path)):
        if record.run_id is None and not record.exported:
            store.record_export(batch.id, record.task_id, files=[], artifacts=[], timeline=None)
            record = store.task_record(batch.id, record.task_id) or record
        results.write_task(record)
        return TaskExport(record)
    if client is None:
        results.write_task(record)
        return TaskExport(record, unrestored="no API access to fetch its files again")
    try:
        run = run or await client.get_run(record.run_id)
        files = await _fetch_files(client, results, record.task_id, run, settings)
        artifacts = await _fetch_artifacts(client, results, record.task_id, run, settings)
        timeline = record.timeline
        if record.state == TaskState.FAILED and (timeline is None or refetch):
            timeline = await _timeline(client, run.run_id)
    except SkyvernError as exc:
        results.write_task(record)
        return TaskExport(record, unrestored=str(exc))
    store.record_export(
        batch.id,
        record.task_id,
        files=[f.as_dict() for f in files],
        artifacts=[a.as_dict() for a in artifacts],
        timeline=timeline,
    )
    if not files and not artifacts and timeline is record.timeline:
        # Nothing new that the state could have scrubbed on the way in (the timeline is the
        # one just read from it): the record as written, without reading it back.
        final: TaskRecord | None = replace(record, files=[], artifacts=[], exported=True)
    else:
        final = store.task_record(batch.id, record.task_id)
    assert final is not None  # it was just written
    results.write_task(final)
    errors = [f"{f.filename or '(unnamed)'}: {f.error}" for f in (*files, *artifacts) if f.error]
    return TaskExport(final, fetched=True, file_errors=errors)


async def _fetch_files(
    client: RunFilesClient,
    results: ResultsDir,
    task_id: str,
    run: RunResponse,
    settings: ExportSettings,
) -> list[ExportedFile]:
    # Called even when the run has no files: the folder must hold the last attempt's files
    # only, not those of an earlier attempt.
    run_id = run.run_id
    return await download_run_files(
        client,
        run,
        results.files_dir(task_id),
        results_root=results.path,
        max_file_size=settings.max_file_size,
        refresh_run=lambda: client.get_run(run_id),
    )


async def _fetch_artifacts(
    client: RunFilesClient,
    results: ResultsDir,
    task_id: str,
    run: RunResponse,
    settings: ExportSettings,
) -> list[ExportedFile]:
    types = list(settings.artifact_types)
    if not types:
        return []
    owner = artifact_owner_id(run.run_id, run.app_url)
    return await download_artifacts(
        client,
        owner,
        types,
        results.artifacts_dir(task_id),
        results_root=results.path,
        max_file_size=settings.max_file_size,
        listed=await _settled_artifacts(client, run, owner, types),
    )


async def _settled_artifacts(
    client: RunFilesClient, run: RunResponse, owner: str, types: list[str]
) -> list[Artifact]:
    """The run's artifacts of the wanted types; a wanted type missing from the list of a run
    that has just ended is looked for again a few seconds after the run's end."""
    listed = await client.get_run_artifacts(owner, types)
    if run.finished_at is None:
        return listed
    waited = (now_utc() - run.finished_at).total_seconds()
    missing = set(types) - {artifact.artifact_type for artifact in listed}
    if not missing or waited >= ARTIFACT_SETTLE_S:
        return listed
    await anyio.sleep(ARTIFACT_SETTLE_S - waited)
    return await client.get_run_artifacts(owner, types)


async def _timeline(client: RunFilesClient, run_id: str) -> list[Any] | None:
    """The timeline of a failed run, where its run type has one (skyvern-2.0, workflows)."""
    try:
        entries = await client.get_run_timeline(run_id)
    except SkyvernError:
        return None  # other run types answer 400
    return [entry.model_dump(mode="json") for entry in entries]


def needs_fetch(record: TaskRecord, batch_dir: Path) -> bool:
    if not record.exported:
        return True  # the run ended but the process stopped before its files were saved
    for value in (*record.files, *record.artifacts):
        exported = ExportedFile.from_value(value)
        if not exported.path:
            continue  # never kept (too large, corrupt): fetching again would end the same
        on_disk = batch_dir / exported.path
        # Size, not hash: rehashing gigabytes on every export would make it slow, and a
        # same-sized silent change inside a results directory is not a realistic failure.
        if not on_disk.is_file() or on_disk.stat().st_size != exported.size:
            return True
    return False
