"""Where the two instances of a diff come from, and where a diff is written.

`InstanceRows` is what `batchrun diff` needs of a store of batch instances. For now the
results directory provides it (each instance's `outputs.jsonl`); the state can provide it
later with the same two methods.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from batchrun.diffing.core import BatchDiff, DiffInputError
from batchrun.errors import UsageError
from batchrun.export import atomic_write_text
from batchrun.export.tables import to_json

OUTPUTS_FILE = "outputs.jsonl"


class InstanceRows(Protocol):
    def run_keys(self, spec_name: str) -> list[str]:
        """The spec's instances, oldest first."""
        ...

    def rows(self, spec_name: str, run_key: str) -> Iterable[Mapping[str, Any]]:
        """The instance's `outputs.jsonl` rows, read lazily (the caller streams them)."""
        ...


class ResultsDirInstances:
    """The instances under `<results>/<spec name>/<run key>/outputs.jsonl`.

    Ordered by the time each `outputs.jsonl` was last written: a results directory keeps
    no other record of when its batch ran. (Rewriting an old instance with
    `batchrun export` makes it the latest; the state-backed source will not have that flaw.)
    """

    def __init__(self, results_root: Path) -> None:
        self.results_root = results_root

    def describe(self, spec_name: str) -> str:
        return f"in {self.results_root / spec_name}"

    def run_keys(self, spec_name: str) -> list[str]:
        spec_dir = self.results_root / spec_name
        if not spec_dir.is_dir():
            return []
        found: list[tuple[int, str]] = []
        for child in spec_dir.iterdir():
            outputs = child / OUTPUTS_FILE
            if outputs.is_file():
                found.append((outputs.stat().st_mtime_ns, child.name))
        return [name for _mtime, name in sorted(found)]

    def rows(self, spec_name: str, run_key: str) -> Iterator[Mapping[str, Any]]:
        path = self.results_root / spec_name / run_key / OUTPUTS_FILE
        try:
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        yield _parse_row(line, path, number)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _parse_row(line: str, path: Path, number: int) -> Mapping[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DiffInputError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DiffInputError(f"{path}:{number}: not a JSON object")
    return row


def write_diff_json(diff: BatchDiff, path: Path) -> None:
    """The `--json` document at `path`, written atomically (complete or not there)."""
    atomic_write_text(path, to_json(diff.as_json(), indent=2) + "\n")
