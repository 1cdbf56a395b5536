"""Keeping the results directory in step with the state while a batch runs.

Each ended task is exported (`export_task`) as soon as it ends, by a few export workers so
that downloads never hold a run slot. The tables (`outputs.jsonl`, `outputs.csv`) are
rewritten from the state at most every few seconds, and once more at the end.
"""

from __future__ import annotations

import math
import time

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

from batchrun.client import RunResponse, SkyvernClient
from batchrun.events import BatchEvent, EventKind, EventSink
from batchrun.export import ResultsDir, remove_stale_temp_files
from batchrun.export.task_export import ExportSettings, export_task
from batchrun.state import BatchRecord, StateStore
from batchrun.state.tables import new_fingerprint

Job = tuple[str, RunResponse | None]
# Ended tasks waiting for their export before the workers that ended them wait too. Runs can
# end faster than their folders are written (instant runs, a slow disk); without this bound
# the backlog, each holding its run, grew by thousands (about 2 KB per task of memory).
BACKLOG_LIMIT = 256
# In the results run directory while an `apply` writes there; left by a killed one.
WRITING_MARK = ".apply-writing"  # (task id, its final run when just read)


def tables_current(store: StateStore, batch_id: int, results: ResultsDir) -> bool:
    """Whether the results tables are what the state would write now, untouched since."""
    written = store.tables_written(batch_id)
    return written == (store.tables_fingerprint(batch_id), results.tables_mtime_ns())


class ResultsExporter:
    def __init__(
        self,
        batch: BatchRecord,
        store: StateStore,
        client: SkyvernClient,
        results: ResultsDir,
        settings: ExportSettings,
        sink: EventSink,
        label: str,
    ) -> None:
        self.batch = batch
        self.store = store
        self.client = client
        self.results = results
        self.settings = settings
        self.sink = sink
        self.label = label
        self._send, self._receive = anyio.create_memory_object_stream[Job](math.inf)
        self._dirty = True
        self._tables_cost_s = 0.0
        self.exported = 0
        self._exported_at_last_write = 0
        self._marked = False
        self._backlog = 0
        self._room: anyio.Event | None = None

    def remove_leftovers(self) -> None:
        """Temp files a killed process left behind (never under a final name).

        Only when the last `apply` that wrote here did not end cleanly: it leaves a mark while
        it writes (`WRITING_MARK`) and removes it at its end, so that applying a finished
        batch again does not walk its 100,000 task directories (20 s).
        """
        mark = self.results.path / WRITING_MARK
        if mark.exists():
            remove_stale_temp_files(self.results.path)
            mark.unlink()  # nothing left to clean; the next write marks again

    def finish(self) -> None:
        """Every write of this invocation is done: no leftovers for the next one to look for."""
        if self._marked:
            (self.results.path / WRITING_MARK).unlink(missing_ok=True)
            self._marked = False

    def _mark_writing(self) -> None:
        if not self._marked:
            self.results.path.mkdir(parents=True, exist_ok=True)
            (self.results.path / WRITING_MARK).touch()
            self._marked = True

    def schedule(self, task_id: str, run: RunResponse | None) -> None:
        """Export a task that reached its final state (run None: read it again if it had one)."""
        self._send.send_nowait((task_id, run))
        self._backlog += 1

    async def wait_for_room(self) -> None:
        """Wait while the backlog is over its bound (the ended tasks in it are safe in the
        state meanwhile: this only keeps memory flat)."""
        while self._backlog > BACKLOG_LIMIT:
            if self._room is None:
                self._room = anyio.Event()
            await self._room.wait()

    def start(self, group: TaskGroup, workers: int) -> None:
        for _ in range(workers):
            group.start_soon(self._worker, self._receive.clone())
        self._receive.close()

    def close(self) -> None:
        self._send.close()

    async def _worker(self, jobs: MemoryObjectReceiveStream[Job]) -> None:
        async with jobs:
            async for task_id, run in jobs:
                self._backlog -= 1
                if self._room is not None and self._backlog <= BACKLOG_LIMIT:
                    self._room.set()
                    self._room = None
                await self.export(task_id, run)

    async def export(self, task_id: str, run: RunResponse | None) -> None:
        record = self.store.task_record(self.batch.id, task_id)
        if record is None:
            return
        self._mark_writing()
        outcome = await export_task(
            self.store,
            self.batch,
            self.results,
            record,
            self.settings,
            client=self.client,
            run=run,
        )
        self._dirty = True
        self.exported += 1
        if outcome.unrestored is not None:
            self._warn(
                task_id,
                f"could not export results ({outcome.unrestored}); `batchrun export` retries",
            )
        for error in outcome.file_errors:
            self._warn(task_id, f"file {error}")
        kept = [f for f in (*outcome.record.files, *outcome.record.artifacts) if f.get("path")]
        if outcome.fetched and kept:
            self.sink.emit(
                BatchEvent(
                    EventKind.FILES_EXPORTED,
                    self.label,
                    f"{len(outcome.record.files)} file(s), {len(outcome.record.artifacts)} "
                    "artifact(s) saved",
                    task=task_id,
                    run_id=outcome.record.run_id,
                    data={"files": [f["path"] for f in kept]},
                )
            )

    async def write_tables_periodically(self) -> None:
        while True:
            # Rewriting the tables of a huge batch is not free: never spend more than about a
            # twentieth of the time on it (every rewrite reads and writes every task, and the
            # tables are rewritten at the end anyway; with a tenth and a 2 s floor, rewrites
            # were ~8% of apply's CPU at 3,000 instant tasks).
            await anyio.sleep(max(5.0, self._tables_cost_s * 20))
            if self._dirty:
                await self.write_tables()

    async def write_tables(self) -> None:
        started = time.monotonic()
        self._dirty = False
        # A task exported since the last rewrite changed the tables for sure; otherwise (a
        # finished batch applied again) they may be unchanged: compare before rewriting.
        if self.exported == self._exported_at_last_write and tables_current(
            self.store, self.batch.id, self.results
        ):
            self._tables_cost_s = time.monotonic() - started
            return
        self._exported_at_last_write = self.exported
        self._mark_writing()
        digest = new_fingerprint()  # what is written, read once
        self.results.write_tables(self.store.table_rows(self.batch.id, digest))
        mtime = self.results.tables_mtime_ns()
        if mtime is not None:
            self.store.record_tables_written(self.batch.id, digest.hexdigest(), mtime)
        self._tables_cost_s = time.monotonic() - started

    def _warn(self, task_id: str, message: str) -> None:
        self.sink.emit(BatchEvent(EventKind.WARNING, self.label, message, "warning", task=task_id))
