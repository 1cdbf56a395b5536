"""The results directory of one batch run: `<results>/<spec name>/<run key>/`.

    outputs.jsonl, outputs.csv     one row per task, spec order
    summary.json                   counts, steps, wall time, retries, budget use
    tasks/<task id>/output.json    the task's output
    tasks/<task id>/run.json       the final run response, secrets removed
    tasks/<task id>/timeline.json  failed tasks only (when the run type has a timeline)
    tasks/<task id>/files.json     what was downloaded: server name, size, sha256, errors
    tasks/<task id>/artifacts.json the screenshots, recordings... saved, likewise
    tasks/<task id>/files/         the run's downloaded files (safe names)
    tasks/<task id>/artifacts/     screenshots / recordings, when the spec opts in

Every file is written atomically, so the directory can be read (or the process killed) at
any moment. Everything except downloaded files and artifacts is derived from the state, and
`batchrun export` rewrites it at will.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from batchrun.export.atomic import atomic_output, atomic_write_text
from batchrun.export.exported import ExportedFile
from batchrun.export.tables import TaskRow, note_output_columns, task_row, to_json, write_csv

FILES_DIR = "files"
ARTIFACTS_DIR = "artifacts"
SUMMARY_FILE = "summary.json"
TABLE_FILES = ("outputs.jsonl", "outputs.csv")


class TaskResult(TaskRow, Protocol):
    """The fields of `batchrun.state.TaskRecord` the per-task files are built from."""

    run_response: dict[str, Any] | None
    timeline: list[Any] | None
    artifacts: Sequence[ExportedFile | Mapping[str, Any]]


class ResultsDir:
    def __init__(self, results_root: Path, spec_name: str, run_key: str) -> None:
        for label, part in (("spec name", spec_name), ("run key", run_key)):
            _require_plain_component(label, part)
        self.root = results_root
        self.path = results_root / spec_name / run_key

    def task_dir(self, task_id: str) -> Path:
        _require_plain_component("task id", task_id)
        return self.path / "tasks" / task_id

    def files_dir(self, task_id: str) -> Path:
        return self.task_dir(task_id) / FILES_DIR

    def artifacts_dir(self, task_id: str) -> Path:
        return self.task_dir(task_id) / ARTIFACTS_DIR

    def write_task(self, record: TaskResult) -> None:
        # Atomic but not synced to disk: a task's files are rebuilt from the state (which is
        # synced) by `batchrun export`, and four fsyncs per task would cap a large batch.
        # The folder is made once here (each write below would otherwise try again).
        directory = self.task_dir(record.task_id)
        fresh = _make_folder(directory)
        _write_json(directory / "output.json", record.output, durable=False, parent_exists=True)
        _write_or_remove(directory / "run.json", record.run_response, fresh=fresh)
        # A task that failed and then succeeded on resume must not keep its old timeline.
        _write_or_remove(directory / "timeline.json", record.timeline, fresh=fresh)
        files = [ExportedFile.from_value(f).as_dict() for f in record.files]
        _write_or_remove(directory / "files.json", files or None, fresh=fresh)
        artifacts = [ExportedFile.from_value(f).as_dict() for f in record.artifacts]
        _write_or_remove(directory / "artifacts.json", artifacts or None, fresh=fresh)

    def write_tables(self, records: Iterable[TaskRow]) -> None:
        """`outputs.jsonl`, then `outputs.csv` from it: `records` (in spec order) are read
        once and never held together, so memory stays flat for a batch of any size."""
        jsonl = self.path / "outputs.jsonl"
        output_columns: dict[str, None] = {}
        with atomic_output(jsonl) as handle:
            for record in records:
                row = task_row(record)
                note_output_columns(row, output_columns)
                handle.write(f"{to_json(row)}\n".encode())
        with (
            jsonl.open(encoding="utf-8") as lines,
            atomic_output(self.path / "outputs.csv") as handle,
        ):
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            write_csv(text, (json.loads(line) for line in lines), output_columns)
            text.flush()
            text.detach()  # atomic_output syncs and closes the file itself

    def tables_mtime_ns(self) -> int | None:
        """When `outputs.jsonl` was last written (None: a table is missing): tells whether
        someone else (`batchrun export`) rewrote the tables since we did."""
        try:
            mtimes = [(self.path / name).stat().st_mtime_ns for name in TABLE_FILES]
        except OSError:
            return None
        return mtimes[0]

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        _write_json(self.path / SUMMARY_FILE, dict(summary))


def _write_json(
    path: Path, value: Any, *, durable: bool = True, parent_exists: bool = False
) -> None:
    atomic_write_text(
        path, to_json(value, indent=2) + "\n", durable=durable, parent_exists=parent_exists
    )


def _make_folder(directory: Path) -> bool:
    """Make a task folder; True when it did not exist (so none of its files can either)."""
    try:
        directory.mkdir()
    except FileExistsError:
        return False
    except FileNotFoundError:  # the first task: `tasks/` itself is new
        directory.mkdir(parents=True, exist_ok=True)
    return True


def _write_or_remove(path: Path, value: Any, *, fresh: bool) -> None:
    # Only used inside a task folder that `write_task` has just made (`fresh`: made now).
    if value is None:
        if not fresh:
            path.unlink(missing_ok=True)
    else:
        _write_json(path, value, durable=False, parent_exists=True)


def _require_plain_component(label: str, value: str) -> None:
    # Spec names, run keys and task ids are validated upstream to be directory-safe; this
    # guard keeps a bug there from ever writing outside the results directory.
    if not value or value in (".", "..") or any(c in value for c in "/\\\x00"):
        raise ValueError(f"{label} {value!r} cannot be used as a directory name")
