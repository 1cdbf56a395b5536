"""Keeping the results directory in step with the state while a batch runs.

Files are fetched as soon as a run finishes (signed links expire), by a few export workers
so that downloads never hold a run slot. The tables (`outputs.jsonl`, `outputs.csv`) are
rewritten from the state at most every few seconds, and once more at the end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

from batchrun.client import (
    Artifact,
    RunResponse,
    SkyvernClient,
    SkyvernError,
    artifact_owner_id,
)
from batchrun.events import BatchEvent, EventKind, EventSink
from batchrun.export import (
    ResultsDir,
    download_artifacts,
    download_run_files,
    remove_stale_temp_files,
    scrub_secrets,
)
from batchrun.export.artifacts import requested_artifact_types
from batchrun.spec import BatchSpec, TaskSpec
from batchrun.state import BatchRecord, StateStore, TaskState, now_utc

# How long after a run ends its artifacts may still be appearing in its list.
ARTIFACT_SETTLE_S = 3.0


class ResultsExporter:
    def __init__(
        self,
        spec: BatchSpec,
        batch: BatchRecord,
        store: StateStore,
        client: SkyvernClient,
        results: ResultsDir,
        sink: EventSink,
        secrets: Collection[str],
    ) -> None:
        self.spec = spec
        self.batch = batch
        self.store = store
        self.client = client
        self.results = results
        self.sink = sink
        self.secrets = tuple(secrets)
        self.label = f"{spec.name}/{batch.run_key}"
        self._send, self._receive = anyio.create_memory_object_stream[
            tuple[TaskSpec, RunResponse | None]
        ](math.inf)
        self._dirty = True
        self._tables_cost_s = 0.0
        self.exported = 0

    def remove_leftovers(self) -> None:
        """Temp files a killed process left behind (never under a final name)."""
        if self.results.path.exists():
            remove_stale_temp_files(self.results.path)

    def scrub(self, value: Any) -> Any:
        return scrub_secrets(value, self.secrets)

    def schedule(self, task: TaskSpec, run: RunResponse | None) -> None:
        """Export a task that reached its final state (run None: fetch it again if it had one)."""
        self._send.send_nowait((task, run))

    def start(self, group: TaskGroup, workers: int) -> None:
        for _ in range(workers):
            group.start_soon(self._worker, self._receive.clone())
        self._receive.close()

    def close(self) -> None:
        self._send.close()

    async def _worker(
        self, jobs: MemoryObjectReceiveStream[tuple[TaskSpec, RunResponse | None]]
    ) -> None:
        async with jobs:
            async for task, run in jobs:
                await self.export_task(task, run)

    async def export_task(self, task: TaskSpec, run: RunResponse | None) -> None:
        record = self.store.task_record(self.batch.id, task.id)
        if record is None:
            return
        files: list[dict[str, Any]] = []
        timeline: list[Any] | None = None
        try:
            if run is None and record.run_id is not None:
                run = await self.client.get_run(record.run_id)
            if run is not None:
                files = await self._fetch_files(task, run)
                if record.state == TaskState.FAILED:
                    timeline = await self._fetch_timeline(run.run_id)
        except SkyvernError as exc:
            self._warn(task.id, f"could not export results ({exc}); `batchrun export` retries")
            return
        self.store.record_export(self.batch.id, task.id, files=files, timeline=timeline)
        final = self.store.task_record(self.batch.id, task.id)
        assert final is not None
        self.results.write_task(final)
        self._dirty = True
        self.exported += 1
        if files:
            self.sink.emit(
                BatchEvent(
                    EventKind.FILES_EXPORTED,
                    self.label,
                    f"{len(files)} file(s) saved",
                    task=task.id,
                    run_id=run.run_id if run else None,
                    data={"files": [f["path"] for f in files]},
                )
            )

    async def _fetch_files(self, task: TaskSpec, run: RunResponse) -> list[dict[str, Any]]:
        # Called even when the run has no files: the folder must hold the last attempt's files
        # only, not those of an earlier attempt.
        exported = await download_run_files(
            self.client,
            run,
            self.results.files_dir(task.id),
            results_root=self.results.path,
            max_file_size=self.spec.export.max_file_size,
            refresh_run=lambda: self.client.get_run(run.run_id),
        )
        artifact_types = requested_artifact_types(
            screenshots=self.spec.export.screenshots,
            recording=self.spec.export.recording,
            artifacts=self.spec.export.artifacts,
        )
        if artifact_types:
            owner = artifact_owner_id(run.run_id, run.app_url)
            exported += await download_artifacts(
                self.client,
                owner,
                artifact_types,
                self.results.artifacts_dir(task.id),
                results_root=self.results.path,
                max_file_size=self.spec.export.max_file_size,
                listed=await self._settled_artifacts(run, owner, artifact_types),
            )
        for item in exported:
            if item.error:
                self._warn(task.id, f"file {item.filename!r}: {item.error}")
        return [item.as_dict() for item in exported]

    async def _settled_artifacts(
        self, run: RunResponse, owner: str, artifact_types: list[str]
    ) -> list[Artifact]:
        """The run's artifacts of the wanted types. A server lists some a moment after the
        run reads final (a skyvern-1.0 run's final screenshot about 0.3 s later): if a wanted
        type is missing from the list of a run that just ended, it is read again a few
        seconds after the run's end."""
        listed = await self.client.get_run_artifacts(owner, artifact_types)
        if run.finished_at is None:
            return listed
        waited = (now_utc() - run.finished_at).total_seconds()
        missing = set(artifact_types) - {artifact.artifact_type for artifact in listed}
        if not missing or waited >= ARTIFACT_SETTLE_S:
            return listed
        await anyio.sleep(ARTIFACT_SETTLE_S - waited)
        return await self.client.get_run_artifacts(owner, artifact_types)

    async def _fetch_timeline(self, run_id: str) -> list[Any] | None:
        """The timeline of a failed run, where its run type has one (skyvern-2.0, workflows)."""
        try:
            entries = await self.client.get_run_timeline(run_id)
        except SkyvernError:
            return None
        return [entry.model_dump(mode="json") for entry in entries]

    async def write_tables_periodically(self) -> None:
        while True:
            # Rewriting the tables of a huge batch is not free: never spend more than about a
            # tenth of the time on it.
            await anyio.sleep(max(2.0, self._tables_cost_s * 10))
            if self._dirty:
                await self.write_tables()

    async def write_tables(self) -> None:
        started = time.monotonic()
        self._dirty = False
        wanted = {task.id for task in self.spec.tasks}
        records = (r for r in self.store.task_records(self.batch.id) if r.task_id in wanted)
        self.results.write_tables(records)
        self._tables_cost_s = time.monotonic() - started

    def _warn(self, task_id: str, message: str) -> None:
        self.sink.emit(BatchEvent(EventKind.WARNING, self.label, message, "warning", task=task_id))
