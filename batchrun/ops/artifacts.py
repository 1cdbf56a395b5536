"""`batchrun artifacts`: a batch's run artifacts, fetched after the fact into the results.

For every selected task's last run, the artifacts of the requested types are listed first
(one request per task, so the whole job is known, and a wrong key fails, before anything is
written), then saved with the export's own downloader into the export's layout,
`tasks/<task id>/artifacts/<type>-<n><ext>`: streamed, atomic, size-capped, safe names, the
key only to the API, `file://` links through the content endpoint. A signed link that
expired since it was listed is replaced through GET /v1/artifacts/{id}.

The state is only read: this can run next to an `apply` of the same batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from batchrun.api_access import is_fatal
from batchrun.api_access import unavailable as api_unavailable
from batchrun.client import Artifact, SkyvernClient, SkyvernError, artifact_owner_id
from batchrun.export import ExportedFile, ResultsDir, download_artifacts
from batchrun.inspection.lookup import last_run_attempt
from batchrun.state import BatchRecord, StateStore, TaskRecord


@dataclass(frozen=True)
class TaskArtifacts:
    """What became of one task's artifacts."""

    task_id: str
    run_id: str
    files: list[ExportedFile] = field(default_factory=list)
    error: str | None = None  # the artifact list could not be read

    @property
    def failed(self) -> list[ExportedFile]:
        return [f for f in self.files if f.error]


@dataclass
class ArtifactFetchReport:
    tasks: list[TaskArtifacts] = field(default_factory=list)
    without_run: list[str] = field(default_factory=list)  # task ids that have no run yet

    @property
    def saved(self) -> list[ExportedFile]:
        return [f for t in self.tasks for f in t.files if not f.error]

    @property
    def ok(self) -> bool:
        return all(t.error is None and not t.failed for t in self.tasks)


@dataclass(frozen=True)
class _Listed:
    task_id: str
    run_id: str
    owner_id: str  # the id the artifacts are listed under
    artifacts: list[Artifact] | None
    error: str | None


async def fetch_batch_artifacts(
    client: SkyvernClient,
    store: StateStore,
    batch: BatchRecord,
    task_ids: Sequence[str],
    artifact_types: Sequence[str],
    results: ResultsDir,
    *,
    max_file_size: int,
    on_task: Callable[[TaskArtifacts], None] = lambda _: None,
) -> ArtifactFetchReport:
    """Save the `artifact_types` artifacts of each task's last run under `results`.

    `on_task` hears about each task as soon as its files are saved. A rejected key or an
    unreachable API raises `ApiUnavailableError`; every other problem is reported per task
    or per file and the rest goes on.
    """
    report = ArtifactFetchReport()
    listed: list[_Listed] = []
    for task_id in task_ids:
        attempt = last_run_attempt(store.attempts_for_task(batch.id, task_id))
        if attempt is None or attempt.run_id is None:
            report.without_run.append(task_id)
            continue
        app_url = _app_url(store.task_record(batch.id, task_id), attempt.run_id)
        listed.append(await _list(client, task_id, attempt.run_id, app_url, artifact_types))
    for entry in listed:
        if entry.artifacts is None:
            outcome = TaskArtifacts(entry.task_id, entry.run_id, error=entry.error)
        else:
            files = await download_artifacts(
                client,
                entry.owner_id,
                artifact_types,
                results.artifacts_dir(entry.task_id),
                results_root=results.path,
                max_file_size=max_file_size,
                listed=entry.artifacts,
            )
            outcome = TaskArtifacts(entry.task_id, entry.run_id, files)
        report.tasks.append(outcome)
        on_task(outcome)
    return report


def _app_url(record: TaskRecord | None, run_id: str) -> str | None:
    """The state's app link of run `run_id` (it keeps the task's latest run's only)."""
    return record.app_url if record is not None and record.run_id == run_id else None


async def _list(
    client: SkyvernClient,
    task_id: str,
    run_id: str,
    app_url: str | None,
    artifact_types: Sequence[str],
) -> _Listed:
    try:
        owner_id = await _owner_id(client, run_id, app_url)
        artifacts = await client.get_run_artifacts(owner_id, artifact_types)
    except SkyvernError as exc:
        if is_fatal(exc):
            raise api_unavailable(exc, client.base_url) from None
        error = f"cannot list the artifacts of {run_id}: {exc}"
        return _Listed(task_id, run_id, run_id, None, error)
    return _Listed(task_id, run_id, owner_id, artifacts, None)


async def _owner_id(client: SkyvernClient, run_id: str, app_url: str | None) -> str:
    """The id the run's artifacts are listed under, from the app link the state holds, or
    else from the run itself."""
    if not run_id.startswith("tsk_v2_"):
        return run_id
    if app_url is None or "/runs/wr_" not in app_url:
        app_url = (await client.get_run(run_id)).app_url
    return artifact_owner_id(run_id, app_url)
