"""`outputs.jsonl` and `outputs.csv`: one row per task, in spec order.

The JSONL keeps every output exactly; the CSV flattens `output` into columns
(`output.price`, `output.seller.name`; lists as JSON text) so that a batch of extractions
opens as a table in a spreadsheet or `pandas.read_csv`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from batchrun.export.exported import ExportedFile
from batchrun.export.indented import dumps_indented

COLUMNS = (
    "task",
    "status",
    "end_status",
    "output",
    "output_verdict",
    "validation_error",
    "run_id",
    "attempts",
    "step_count",
    "failure_reason",
    "files",
    "artifacts",
    "file_errors",
    "started_at",
    "finished_at",
    "app_url",
)


class TaskRow(Protocol):
    """The fields of `batchrun.state.TaskRecord` a results row is built from."""

    task_id: str
    position: int
    state: str
    attempts: int
    run_id: str | None
    failure_reason: str | None
    output: Any
    output_verdict: str | None
    validation_error: str | None
    step_count: int | None
    started_at: datetime | None
    finished_at: datetime | None
    app_url: str | None
    files: Sequence[ExportedFile | Mapping[str, Any]]
    artifacts: Sequence[ExportedFile | Mapping[str, Any]]
    end_status: str | None


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    # The state and the API both mean UTC when they give no offset.
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def task_row(record: TaskRow) -> dict[str, Any]:
    """The `outputs.jsonl` object for one task, keys in COLUMNS order."""
    files = [ExportedFile.from_value(f) for f in record.files]
    artifacts = [ExportedFile.from_value(f) for f in record.artifacts]
    return {
        "task": record.task_id,
        "status": record.state,
        "end_status": record.end_status,
        "output": record.output,
        "output_verdict": record.output_verdict,
        "validation_error": record.validation_error,
        "run_id": record.run_id,
        "attempts": record.attempts,
        "step_count": record.step_count,
        "failure_reason": record.failure_reason,
        "files": [f.path for f in files if f.path],
        "artifacts": [f.path for f in artifacts if f.path],
        "file_errors": [
            f"{f.filename or '(unnamed)'}: {f.error}" for f in (*files, *artifacts) if f.error
        ],
        "started_at": iso_utc(record.started_at),
        "finished_at": iso_utc(record.finished_at),
        "app_url": record.app_url,
    }


def to_json(value: Any, *, indent: int | None = None) -> str:
    # Outputs are JSON from the API; `default` only guards against stray non-JSON types.
    if indent is not None:
        return dumps_indented(value, indent, _json_default)  # json.dumps' text, faster
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def note_output_columns(row: Mapping[str, Any], seen: dict[str, None]) -> None:
    """Add the CSV columns `row`'s output needs to `seen` (first-seen order, no repeats)."""
    for key in flatten_row(row):
        if key == "output" or key.startswith("output."):
            seen.setdefault(key, None)


def write_csv(
    stream: TextIO, rows: Iterable[Mapping[str, Any]], output_columns: Iterable[str]
) -> None:
    """The CSV of `rows`; `output_columns` (from `note_output_columns` over every row) sit
    where `output` stands, so the header is stable for a given set of results."""
    output_columns = list(output_columns)
    header: list[str] = []
    for column in COLUMNS:
        header.extend(output_columns if column == "output" else [column])
    writer = csv.DictWriter(stream, fieldnames=header, lineterminator="\r\n", restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in flatten_row(row).items()})


def flatten_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with `output` spread into `output.<key>` columns (only when it is an object)."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key == "output" and isinstance(value, Mapping) and value:
            _flatten_into(flat, "output", value)
        else:
            flat[key] = value
    return flat


def _flatten_into(flat: dict[str, Any], prefix: str, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        name = f"{prefix}.{key}"
        if isinstance(item, Mapping) and item:
            _flatten_into(flat, name, item)
        else:
            flat.setdefault(name, item)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value == []:
        return "[]"  # files, artifacts, file_errors of most rows: no JSON encoder needed
    # Numbers, booleans, lists and empty objects: their JSON text (`true`, `[1, 2]`).
    return to_json(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    # Losing a result over an odd type would be worse than writing its text.
    return str(value)
