"""What every operation on a batch starts from: the spec, where its state and results live,
the state store, and the one set of secrets never to be written anywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchrun.errors import UsageError
from batchrun.export import ResultsDir
from batchrun.shards import (
    Shard,
    default_state_name,
    results_subdir,
    shard_summary_fields,
    sharded_spec,
)
from batchrun.spec import BatchSpec
from batchrun.state import (
    BatchRecord,
    StateStore,
    legacy_state_path,
    open_store,
    state_path_for,
)


@dataclass(frozen=True)
class BatchLocation:
    """Where a batch lives: its state file and its results root.

    Both default to places next to the spec file, so that cron in `$HOME` and a person in
    the spec's directory find the same batch; overrides are relative to the working
    directory, like any path on a command line.
    """

    spec: BatchSpec  # a shard's spec holds only its tasks, and its share of the caps
    state_path: Path
    results_root: Path
    shard: Shard | None = None

    @classmethod
    def of(
        cls,
        spec: BatchSpec,
        *,
        state: Path | str | None = None,
        results: Path | None = None,
        shard: Shard | None = None,
    ) -> BatchLocation:
        state_path, root = batch_paths(
            spec.path, spec.results_dir, state=state, results=results, shard=shard
        )
        if shard is not None:
            spec = sharded_spec(spec, shard)
        location = cls(spec, state_path, root, shard)
        if not state and shard is None:
            location._refuse_to_fork()
        return location

    def summary_fields(self) -> dict[str, Any]:
        """What a shard's summary.json adds for `batchrun merge` to check."""
        if self.shard is None:
            return {}
        return shard_summary_fields(self.shard, self.spec.path)

    def results_for(self, run_key: str) -> ResultsDir:
        return ResultsDir(self.results_root, self.spec.name, run_key)

    def _refuse_to_fork(self) -> None:
        """A batch applied by an older batchrun from another directory kept its state in that
        directory's `.batchrun/`; starting afresh next to the spec would pay for every run
        again, so say where it is instead."""
        legacy = legacy_state_path(self.spec.path)
        if legacy is None or _has_batch(self.state_path, self.spec.name):
            return
        if not _has_batch(legacy, self.spec.name):
            return
        raise UsageError(
            f"batch {self.spec.name!r} has state in {legacy} (the working directory's, where "
            f"older batchrun versions kept it), not in {self.state_path} next to the spec: "
            f"use it with --state {legacy}, or move it there "
            f"(mkdir -p {self.state_path.parent} && mv {legacy} {self.state_path})"
        )


def batch_paths(
    spec_path: Path,
    results_dir: Path,
    *,
    state: Path | str | None = None,
    results: Path | None = None,
    shard: Shard | None = None,
) -> tuple[Path, Path]:
    """The state file and the results root of the spec at `spec_path` whose `results`
    setting is `results_dir`, given the command line's overrides. Each shard is a batch of
    its own on disk: its own state file and results, so shards share no file and can run
    on different machines."""
    return state_file(spec_path, state, shard), results_root(spec_path, results_dir, results, shard)


def state_file(spec_path: Path, state: Path | str | None, shard: Shard | None) -> Path:
    state_path = state_path_for(spec_path, state)
    if shard is not None and not state:
        return state_path.with_name(default_state_name(shard))
    return state_path


def results_root(
    spec_path: Path, results_dir: Path, results: Path | None, shard: Shard | None
) -> Path:
    if results is not None:
        root = Path(results)
    elif results_dir.is_absolute():
        root = results_dir
    else:
        root = spec_path.parent / results_dir
    return root / results_subdir(shard) if shard is not None else root


def _has_batch(path: Path, spec_name: str) -> bool:
    if not path.is_file():
        return False
    store = open_store(path)
    try:
        return store.find_batch(spec_name) is not None
    finally:
        store.close()


def api_key_secrets(spec: BatchSpec) -> set[str]:
    """The values never to be written in clear: the API key and what the spec took from the
    environment. Built once per command and handed to every writer."""
    secrets = {value for task in spec.tasks for value in task.secrets.values() if value}
    if api_key := os.environ.get(spec.api_key_env):
        secrets.add(api_key)
    return secrets


@dataclass
class BatchContext:
    """An open batch: its location, its state store and its secrets. Close it when done."""

    location: BatchLocation
    store: StateStore
    secrets: set[str] = field(default_factory=set)

    @property
    def spec(self) -> BatchSpec:
        return self.location.spec

    @classmethod
    def open(
        cls,
        location: BatchLocation,
        *,
        create: bool = False,
        secrets: set[str] | None = None,
    ) -> BatchContext:
        """Only `apply` creates a state file; any other command asked about a missing one says
        so, and never leaves an empty file behind."""
        path = location.state_path
        if not create and not path.exists():
            raise UsageError(
                f"no state file at {path}: batch {location.spec.name!r} has never been applied "
                f"there (run `batchrun apply {location.spec.path}` first, or point --state / "
                "BATCHRUN_STATE at its state file)"
            )
        store = open_store(path)
        chosen = secrets if secrets is not None else api_key_secrets(location.spec)
        store.redact(chosen)
        return cls(location, store, chosen)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> BatchContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def instance(self, run_key: str | None) -> BatchRecord:
        """The batch instance `run_key` (default: the latest); an unknown key names the known."""
        return find_instance(self.store, self.spec, run_key)

    def results_for(self, batch: BatchRecord) -> ResultsDir:
        return self.location.results_for(batch.run_key)


def find_instance(store: StateStore, spec: BatchSpec, run_key: str | None) -> BatchRecord:
    batch = store.find_batch(spec.name, run_key)
    if batch is not None:
        return batch
    if run_key is None:
        raise UsageError(
            f"batch {spec.name!r} has never been applied (state file {store.path}); "
            f"run `batchrun apply {spec.path}` first"
        )
    raise unknown_run_key(spec.name, run_key, [b.run_key for b in store.list_batches(spec.name)])


def unknown_run_key(spec_name: str, run_key: str, known: list[str]) -> UsageError:
    listed = ", ".join(known[-10:]) or "none yet"
    more = f" (and {len(known) - 10} older)" if len(known) > 10 else ""
    return UsageError(
        f"batch {spec_name!r} has no instance with run key {run_key!r}; known run keys: "
        f"{listed}{more} (`batchrun runs` lists them)"
    )
