"""Rebuilding a results directory from the state gives the same content, files included."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from batchrun.api_access import ApiAccess
from batchrun.client import SkyvernClient
from batchrun.export import ResultsDir
from batchrun.ops.context import BatchContext, BatchLocation
from batchrun.ops.export import ExportReport, export
from batchrun.scheduler.outcomes import Succeeded, task_end
from batchrun.sim import RunningSimulator
from batchrun.spec import load_spec
from batchrun.state import BatchRecord, StateStore, TaskSync, open_store

FILES = [{"name": "../report.pdf", "size": 3000}, {"name": "data.csv", "size": 700}]
SPEC = """
name: prices
tasks:
  - {id: with-files, prompt: p, url: "https://example.com"}
  - {id: refused, prompt: p, url: "https://example.com/bad"}
"""


@dataclass(frozen=True)
class TaskDef:
    id: str
    position: int
    kind: str = "task"
    content_hash: str = "h"


@pytest.fixture
def finished_batch(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> Iterator[tuple[RunningSimulator, StateStore, BatchRecord]]:
    """A batch whose task `with-files` succeeded with two files; `refused` failed unsent."""
    sim = simulator({"rules": [{"match": {"title": "*"}, "duration": 0.05, "files": FILES}]})
    (tmp_path / "prices.yaml").write_text(SPEC)
    store = open_store(tmp_path / "state.db")
    batch = store.create_batch("prices", "k1", None)
    store.sync_tasks(
        batch.id,
        [
            TaskSync(t.id, "insert", t.position, t.kind, t.content_hash)
            for t in (TaskDef("with-files", 0), TaskDef("refused", 1))
        ],
    )

    async def run_one() -> dict[str, Any]:
        async with SkyvernClient(sim.base_url, sim.api_key) as client:
            created = await client.run_task({"prompt": "p", "url": "https://example.com"})
            with anyio.fail_after(20):
                while not (run := await client.get_run(created.run_id)).is_final:
                    await anyio.sleep(0.02)
            return run.model_dump(mode="json")

    run = anyio.run(run_one)
    attempt = store.begin_attempt(
        batch.id, "with-files", attempt_key="a1", kind="task", request={}, reserved_steps=3
    )
    store.attempt_accepted(
        attempt,
        batch_id=batch.id,
        run_id=run["run_id"],
        run_type=run["run_type"],
        status="running",
        app_url=run["app_url"],
    )
    store.finish_attempt(
        attempt,
        batch_id=batch.id,
        status="completed",
        step_count=run["step_count"],
        failure_reason=None,
        response=run,
        end=task_end(Succeeded({"price": 4.5, "seller": {"name": "Ann"}}, "valid", None)),
    )
    refused = store.begin_attempt(
        batch.id, "refused", attempt_key="a2", kind="task", request={}, reserved_steps=3
    )
    store.attempt_not_created(refused, batch_id=batch.id, reason="HTTP 400: bad url", final=True)
    yield sim, store, batch
    store.close()


def _rebuild(
    sim: RunningSimulator | None, store: StateStore, batch: BatchRecord, results: ResultsDir
) -> ExportReport:
    """`batchrun export` of the batch into `results` (with API access when `sim` is given)."""
    spec = load_spec(results.root.parent / "prices.yaml")
    location = BatchLocation.of(spec, state=store.path, results=results.root)
    access = ApiAccess(sim.base_url, sim.api_key) if sim is not None else None
    with BatchContext.open(location) as ctx:
        return anyio.run(
            lambda: export(ctx, ctx.instance(batch.run_key), access=access, report=False)
        )


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_export_after_deleting_the_directory_rebuilds_the_same_content(
    tmp_path: Path, finished_batch: tuple[RunningSimulator, StateStore, BatchRecord]
) -> None:
    sim, store, batch = finished_batch
    results = ResultsDir(tmp_path / "results", "prices", "k1")

    # The process stopped before exporting: the first export fetches the files.
    first = _rebuild(sim, store, batch, results)
    assert first.refetched == ["with-files"] and first.unrestored == {}
    original = _snapshot(results.path)
    assert {
        "outputs.jsonl",
        "outputs.csv",
        "summary.json",
        "tasks/with-files/output.json",
        "tasks/with-files/run.json",
        "tasks/with-files/files.json",
        "tasks/with-files/files/report.pdf",
        "tasks/with-files/files/data.csv",
        "tasks/refused/output.json",
    } == set(original)

    # No `apply` recorded a summary for this batch: it is derived from the state.
    summary = json.loads(original["summary.json"])
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (2, 1, 1)
    assert summary["steps"] == store.task_record(batch.id, "with-files").total_steps > 0
    assert [task["task_id"] for task in summary["failed_tasks"]] == ["refused"]

    # Nothing missing: nothing fetched, and no API access needed.
    again = _rebuild(None, store, batch, results)
    assert again.refetched == [] and again.unrestored == {}
    assert _snapshot(results.path) == original

    # The whole directory deleted: the same content comes back, files fetched again.
    shutil.rmtree(results.root)
    rebuilt = _rebuild(sim, store, batch, results)
    assert rebuilt.refetched == ["with-files"]
    assert _snapshot(results.path) == original


def test_without_api_access_missing_files_are_reported_and_the_rest_is_written(
    tmp_path: Path, finished_batch: tuple[RunningSimulator, StateStore, BatchRecord]
) -> None:
    sim, store, batch = finished_batch
    results = ResultsDir(tmp_path / "results", "prices", "k1")
    _rebuild(sim, store, batch, results)
    (results.files_dir("with-files") / "data.csv").unlink()
    (results.path / "outputs.csv").unlink()

    report = _rebuild(None, store, batch, results)
    assert list(report.unrestored) == ["with-files"]
    assert (results.path / "outputs.csv").is_file()
    assert not (results.files_dir("with-files") / "data.csv").exists()


def test_stale_temp_files_are_removed(
    tmp_path: Path, finished_batch: tuple[RunningSimulator, StateStore, BatchRecord]
) -> None:
    sim, store, batch = finished_batch
    results = ResultsDir(tmp_path / "results", "prices", "k1")
    results.path.mkdir(parents=True)
    leftover = results.path / ".outputs.csv.tmp-0123456789ab"
    leftover.write_text("half")
    _rebuild(sim, store, batch, results)
    assert not leftover.exists()
