"""`diff`: the instances of a spec as the state holds them, for `batchrun.diffing`.

Each instance's rows are its `outputs.jsonl` rows, rebuilt from the state (so a deleted
results directory still diffs), one task at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from batchrun.diffing import BatchDiff, compute_diff, write_diff_json
from batchrun.export.tables import task_row
from batchrun.ops.context import BatchContext, BatchLocation, find_instance
from batchrun.spec import BatchSpec
from batchrun.state import BatchRecord, StateStore

DIFF_FILE = "diff.json"


class StateInstances:
    """`InstanceRows` over a state file: run keys oldest first, rows in spec order."""

    def __init__(self, location: BatchLocation) -> None:
        self.location = location
        self._ctx = BatchContext.open(location)

    def describe(self, spec_name: str) -> str:
        return f"in {self.location.state_path}"

    def run_keys(self, spec_name: str) -> list[str]:
        return [batch.run_key for batch in self._ctx.store.list_batches(spec_name)]

    def rows(self, spec_name: str, run_key: str) -> Iterator[Mapping[str, Any]]:
        store = self._ctx.store
        return instance_rows(store, find_instance(store, self.location.spec, run_key))

    def close(self) -> None:
        self._ctx.close()


def instance_rows(store: StateStore, batch: BatchRecord) -> Iterator[dict[str, Any]]:
    for record in store.task_records(batch.id):
        yield task_row(record)


def state_source(spec: BatchSpec, *, state_path: Path | None = None) -> StateInstances:
    return StateInstances(BatchLocation.of(spec, state=state_path))


def diff_instances(
    store: StateStore, spec: BatchSpec, old: BatchRecord, new: BatchRecord
) -> BatchDiff:
    return compute_diff(
        instance_rows(store, old),
        instance_rows(store, new),
        from_key=old.run_key,
        to_key=new.run_key,
        ignore=spec.diff_ignore,
    )


def write_instance_diff(
    store: StateStore, spec: BatchSpec, old: BatchRecord, new: BatchRecord, results_dir: Path
) -> BatchDiff:
    """diff.json beside outputs.jsonl, for a cron job to mail or post."""
    diff = diff_instances(store, spec, old, new)
    results_dir.mkdir(parents=True, exist_ok=True)
    write_diff_json(diff, results_dir / DIFF_FILE)
    return diff
