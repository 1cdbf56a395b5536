"""`apply` of an instance that has ended, proved without loading the spec.

Cron runs `apply` every night; once the batch has ended, each run has only to say so. Loading
a 100,000-task spec (expanding rows, validating, hashing) takes seconds, so `apply` first
asks the state: the instance remembers the fingerprint of the spec load that last brought
its tasks in line (`spec/inputs.py`). When the spec file, every file it read and every
environment variable it looked up are as they were, loading again would give the same tasks
with the same content hashes, and `batchrun.decide` would skip or keep every one of them
unless the state still has work for one: a task not ended, or ended with its results not
written (one SQL count). Then nothing is loaded, decided or sent; the instance's summary is
written from the state as usual. In any other case (`--new`, `--only`, a retry asked for,
`--diff-from`, a change anywhere, work left) `apply` loads the spec and decides task by task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchrun.events import BatchEvent, EventKind, EventSink
from batchrun.export import ResultsDir
from batchrun.ops.context import results_root, state_file
from batchrun.ops.invocation import (
    ApplyResult,
    InvocationEnd,
    close_invocation,
    located_event,
    started_message,
    write_results,
)
from batchrun.scheduler.exporting import WRITING_MARK, tables_current
from batchrun.shards import Shard, shard_summary_fields, share
from batchrun.spec import BatchSpec, SpecIssue
from batchrun.spec.inputs import SpecInputs, shard_fingerprint, spec_key
from batchrun.state import BatchLock, BatchRecord, SpecRecord, StateStore, open_store


@dataclass(frozen=True)
class SpecSnapshot:
    """What `apply` needs of a spec when it does not load it: names, paths, warnings."""

    name: str
    results_dir: str  # as the spec writes it
    api_base_url: str
    api_key_env: str
    concurrency: int
    secret_env: tuple[str, ...]  # the variables the tasks took values from
    warnings: tuple[SpecIssue, ...]

    @classmethod
    def of(cls, spec: BatchSpec) -> SpecSnapshot:
        return cls(
            name=spec.name,
            results_dir=str(spec.results_dir),
            api_base_url=spec.api_base_url,
            api_key_env=spec.api_key_env,
            concurrency=spec.concurrency,
            secret_env=tuple(sorted({name for task in spec.tasks for name in task.secrets})),
            warnings=tuple(spec.warnings),
        )

    def as_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "results_dir": self.results_dir,
                "api_base_url": self.api_base_url,
                "api_key_env": self.api_key_env,
                "concurrency": self.concurrency,
                "secret_env": list(self.secret_env),
                "warnings": [[w.path, w.line, w.col, w.message] for w in self.warnings],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SpecSnapshot:
        data: dict[str, Any] = json.loads(text)
        return cls(
            name=data["name"],
            results_dir=data["results_dir"],
            api_base_url=data["api_base_url"],
            api_key_env=data["api_key_env"],
            concurrency=data["concurrency"],
            secret_env=tuple(data["secret_env"]),
            warnings=tuple(SpecIssue(*warning) for warning in data["warnings"]),
        )

    def secrets(self, environ: Mapping[str, str]) -> set[str]:
        """The values never to be written in clear (as `api_key_secrets` has them)."""
        names = (*self.secret_env, self.api_key_env)
        return {environ[name] for name in names if environ.get(name)}


def spec_record(
    spec: BatchSpec, shard: Shard | None, *, proven: str | None = None
) -> SpecRecord | None:
    """What the state keeps of a spec load for the next `apply` (None: not from a file).
    `proven`: the fingerprint `find_unchanged` matched, when only some tasks were built."""
    if spec.source is None:
        return None
    if proven is not None:
        return SpecRecord(spec.source.key, proven, spec.source.inputs.as_json(), None)
    return SpecRecord(
        key=spec.source.key,
        fingerprint=_for_shard(spec.source.fingerprint, shard),
        inputs_json=spec.source.inputs.as_json(),
        snapshot_json=SpecSnapshot.of(spec).as_json(),
    )


@dataclass(frozen=True)
class UnchangedInstance:
    """An instance whose spec is as its last full sync had it, as found by `find_unchanged`."""

    spec_path: Path
    snapshot: SpecSnapshot
    state_path: Path
    results: ResultsDir
    batch: BatchRecord
    shard: Shard | None
    fingerprint: str  # the spec's, as found

    @property
    def concurrency(self) -> int:
        if self.shard is None:
            return self.snapshot.concurrency
        return share(self.snapshot.concurrency, self.shard, minimum=1) or 1


def find_unchanged(
    spec_path: Path,
    *,
    max_input_size: int,
    state: Path | str | None = None,
    results: Path | None = None,
    shard: Shard | None = None,
    run_key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> UnchangedInstance | None:
    """The instance, if the state proves that its spec is unchanged since the last sync;
    None when the whole spec must be loaded to know. Reads only: never creates a file."""
    environ = os.environ if environ is None else environ
    state_path = state_file(spec_path, state, shard)
    if not state_path.is_file():
        return None
    key = spec_key(spec_path, max_input_size)
    if key is None:
        return None
    store = open_store(state_path)
    try:
        saved = store.spec_snapshot(key)
        if saved is None:
            return None
        inputs, snapshot = SpecInputs.from_json(saved[0]), SpecSnapshot.from_json(saved[1])
        batch = store.find_batch(snapshot.name, run_key)
        if batch is None:
            return None
        fingerprint = inputs.fingerprint(environ)
        if fingerprint is None:
            return None
        fingerprint = _for_shard(fingerprint, shard)
        if store.spec_fingerprint(batch.id) != fingerprint:
            return None
    finally:
        store.close()
    root = results_root(spec_path, Path(snapshot.results_dir), results, shard)
    results_dir = ResultsDir(root, snapshot.name, batch.run_key)
    return UnchangedInstance(
        spec_path, snapshot, state_path, results_dir, batch, shard, fingerprint
    )


def _for_shard(fingerprint: str, shard: Shard | None) -> str:
    return shard_fingerprint(fingerprint, shard.label if shard is not None else None)


def tasks_with_work(unchanged: UnchangedInstance) -> list[str]:
    """The tasks the instance still has work for: the only ones `apply` needs to build."""
    store = open_store(unchanged.state_path)
    try:
        return store.tasks_needing_work(unchanged.batch.id)
    finally:
        store.close()


def apply_ended(
    ended: UnchangedInstance,
    sink: EventSink,
    *,
    secrets: set[str],
    report: bool,
    concurrency: int | None = None,
) -> ApplyResult | None:
    """The `apply` of an instance with nothing left to do: its summary written as a full
    `apply` writes it. None if, once the instance is locked, the state shows work (another
    `apply` got there first, results to write): then load the spec and apply."""
    batch, snapshot = ended.batch, ended.snapshot
    store = open_store(ended.state_path)
    store.redact(secrets)
    try:
        with BatchLock(ended.state_path, snapshot.name, batch.run_key):
            if not _nothing_to_do(store, ended):
                return None
            label = f"{snapshot.name}/{batch.run_key}"
            sink.emit(located_event(label, ended.state_path, batch.run_key, new=False))
            store.start_invocation(batch.id, str(ended.spec_path))
            total = sum(store.count_by_state(batch.id).values())
            concurrency = concurrency or ended.concurrency
            event = BatchEvent(
                EventKind.BATCH_STARTED,
                label,
                started_message(total, 0, concurrency),
                data={
                    "total": total,
                    "to_run": 0,
                    "skipped": total,
                    "removed": 0,
                    "concurrency": concurrency,
                    "run_key": batch.run_key,
                    "state_path": str(ended.state_path),
                    "spec_loaded": False,
                    "tasks_built": 0,
                },
            )
            store.add_event(batch.id, event)
            sink.emit(event)
            summary = close_invocation(
                store,
                batch,
                None,
                results=ended.results,
                spec_path=ended.spec_path,
                state_path=ended.state_path,
                end=InvocationEnd(),
            )
    finally:
        store.close()
    extra = shard_summary_fields(ended.shard, ended.spec_path) if ended.shard else {}
    return write_results(ended.results, summary, None, report=report, extra=extra)


def _nothing_to_do(store: StateStore, ended: UnchangedInstance) -> bool:
    """Checked under the lock: the instance still stands as `find_unchanged` found it."""
    batch, results = ended.batch, ended.results
    if store.spec_fingerprint(batch.id) != ended.fingerprint:
        return False
    if store.tasks_needing_work(batch.id, limit=1):
        return False
    if (results.path / WRITING_MARK).exists():
        return False  # a killed writer's leftovers to clean up first
    return tables_current(store, batch.id, results)
