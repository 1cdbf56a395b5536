"""Loading a spec file: `load_spec` builds every task, `check_spec` checks them all and
keeps none (what `validate` needs at 100,000 tasks)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from batchrun.spec.batch import BatchSpec
from batchrun.spec.errors import SpecIssue
from batchrun.spec.inputs import recording
from batchrun.spec.loader import SpecLoader
from batchrun.spec.source_files import DEFAULT_MAX_INPUT_BYTES, read_text
from batchrun.spec.yaml_positions import load_yaml


def load_spec(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    max_input_size: int = DEFAULT_MAX_INPUT_BYTES,
    only_ids: Collection[str] | None = None,
) -> BatchSpec:
    """Load, validate and expand the spec at `path`; raise SpecError with every problem.

    `max_input_size` (bytes) caps the spec file, and the files it names unless the spec's
    `limits.max_input_size` sets their cap itself. `only_ids` builds only those tasks (the
    others are not checked beyond their id): for a spec known to be unchanged since a full
    load checked it, when only some tasks are needed (`ops/unchanged.py`)."""
    spec, _ = _load(path, environ, max_input_size, only_ids, keep_tasks=True)
    return spec


@dataclass(frozen=True, slots=True)
class SpecCheck:
    """What `check_spec` found in a valid spec."""

    name: str
    task_count: int
    warnings: list[SpecIssue]


def check_spec(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    max_input_size: int = DEFAULT_MAX_INPUT_BYTES,
) -> SpecCheck:
    """Check the spec at `path` as `load_spec` does (raising SpecError alike) without
    keeping its tasks: what `validate` needs, in a fraction of the memory at 100,000 tasks."""
    spec, count = _load(path, environ, max_input_size, None, keep_tasks=False)
    return SpecCheck(spec.name, count, spec.warnings)


def _load(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None,
    max_input_size: int,
    only_ids: Collection[str] | None,
    *,
    keep_tasks: bool,
) -> tuple[BatchSpec, int]:
    """The spec (its tasks left out unless `keep_tasks`) and how many tasks it has."""
    display = os.fspath(path)
    environ = os.environ if environ is None else environ
    with recording(path, environ, max_input_size) as (recorder, source):
        text = read_text(path, display, what="spec file", max_bytes=max_input_size)
        loaded = load_yaml(text, display)
        loader = SpecLoader(
            Path(path), loaded.positions, recorder, max_input_size, only_ids, keep_tasks=keep_tasks
        )
        spec = loader.load(loaded.data)
    return dataclasses.replace(spec, source=source[0] if source else None), loader.task_count
