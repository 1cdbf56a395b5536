"""Reading a results directory back, one record at a time, into what the report shows.

outputs.jsonl is read in passes and never held whole: a 100,000-task batch keeps only the
rows the table shows (capped) and bounded aggregates in memory.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchrun.report.outputs import Cell, OutputColumns, split_output

MAX_PREVIEW_CHARS = 240  # of each output, so 1,000 rows still make a file a browser opens
MAX_REASON_CHARS = 600
MAX_FILE_ERRORS = 3  # per row: a task that lost 500 files must not make a 300 KB row
# Screenshots are embedded (data: URIs) until this much is spent, so a report mailed on its
# own still shows the first ones; past it they are relative links into the results directory.
# Kept small: the page must open in about a second, and base64 images are most of its bytes.
EMBED_BUDGET_BYTES = 2 * 1024 * 1024
MAX_EMBEDDED_IMAGE_BYTES = 1024 * 1024
FINAL_STATUSES = ("succeeded", "failed", "canceled")
PROBLEM_STATUSES = ("failed", "canceled")

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif", ".webp": "image/webp"}  # fmt: skip
_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Thumbnail:
    src: str  # a data: URI, or a path relative to the results directory
    link: str  # relative path of the full image


@dataclass(frozen=True)
class ReportRow:
    position: int
    task_id: str
    status: str
    attempts: int | None
    steps: int | None
    started_at: datetime | None
    finished_at: datetime | None
    cells: tuple[Cell, ...]  # one per output column
    output_rest: str  # what the columns do not show: a non-object output, or other keys
    output_verdict: str | None
    problems: list[str]  # failure reason, validation error, file errors
    file_count: int
    app_url: str | None
    task_dir: str | None  # relative link, None when the id cannot name a directory
    thumbnail: Thumbnail | None

    @property
    def duration_s(self) -> float | None:
        return duration_of(self.started_at, self.finished_at)


class Records:
    """The readable records of outputs.jsonl with their spec positions, one pass per call.

    A torn or non-object line is skipped and counted (`unreadable`, after a full pass);
    positions number the readable records from 1, as the table shows them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.unreadable = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        unreadable = 0
        position = 0
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    unreadable += 1
                    continue
                if not isinstance(record, dict):
                    unreadable += 1
                    continue
                position += 1
                yield position, record
        self.unreadable = unreadable


def read_summary(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def task_id_of(position: int, record: dict[str, Any]) -> str:
    return str(record.get("task") or f"row-{position}")


def status_of(record: dict[str, Any]) -> str:
    return str(record.get("status") or "unknown")


def build_row(
    position: int,
    record: dict[str, Any],
    results_dir: Path,
    columns: OutputColumns,
) -> ReportRow:
    """One shown row, without its thumbnail (see `with_thumbnail`)."""
    task_id = task_id_of(position, record)
    problems = [
        clip(str(text), MAX_REASON_CHARS)
        for text in (record.get("failure_reason"), record.get("validation_error"))
        if text
    ]
    file_errors = as_list(record.get("file_errors"))
    problems += [clip(str(text), MAX_REASON_CHARS) for text in file_errors[:MAX_FILE_ERRORS]]
    if len(file_errors) > MAX_FILE_ERRORS:
        problems.append(f"and {len(file_errors) - MAX_FILE_ERRORS:,} more file error(s)")
    app_url = record.get("app_url")
    cells, rest = split_output(record.get("output"), columns, MAX_PREVIEW_CHARS)
    return ReportRow(
        position=position,
        task_id=task_id,
        status=status_of(record),
        attempts=as_int(record.get("attempts")),
        steps=as_int(record.get("step_count")),
        started_at=as_datetime(record.get("started_at")),
        finished_at=as_datetime(record.get("finished_at")),
        cells=cells,
        output_rest=rest,
        output_verdict=as_str(record.get("output_verdict")),
        problems=problems,
        file_count=len(as_list(record.get("files"))),
        app_url=app_url if isinstance(app_url, str) else None,
        task_dir=f"tasks/{task_id}/" if is_plain_component(task_id) else None,
        thumbnail=None,
    )


def with_thumbnail(row: ReportRow, results_dir: Path, budget: EmbedBudget) -> ReportRow:
    """Called in display order, so the embedding budget goes to the rows seen first: the
    failures, whose screenshots matter most."""
    if row.task_dir is None:
        return row
    return replace(row, thumbnail=_thumbnail(results_dir, row.task_id, budget))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EmbedBudget:
    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, size: int) -> bool:
        if size > MAX_EMBEDDED_IMAGE_BYTES or size > self.left:
            return False
        self.left -= size
        return True


def _thumbnail(results_dir: Path, task_id: str, budget: EmbedBudget) -> Thumbnail | None:
    image = _best_screenshot(results_dir / "tasks" / task_id / "artifacts", results_dir)
    if image is None:
        return None
    relative = image.relative_to(results_dir).as_posix()
    try:
        size = image.stat().st_size
        if budget.take(size):
            data = base64.b64encode(image.read_bytes()).decode("ascii")
            return Thumbnail(f"data:{_IMAGE_TYPES[image.suffix.lower()]};base64,{data}", relative)
    except OSError:
        return None
    return Thumbnail(relative, relative)


def _best_screenshot(artifacts_dir: Path, results_dir: Path) -> Path | None:
    """The final screenshot if there is one, else the latest; SVG is never taken (it can
    carry script)."""
    if not artifacts_dir.is_dir():
        return None
    root = results_dir.resolve()
    candidates = [
        path
        for path in artifacts_dir.rglob("*")
        if path.suffix.lower() in _IMAGE_TYPES
        and "screenshot" in path.relative_to(artifacts_dir).as_posix()
        and path.is_file()
        # A planted symlink must not pull a file from outside into the report.
        and path.resolve().is_relative_to(root)
    ]
    if not candidates:
        return None

    def rank(path: Path) -> tuple[bool, list[int | str]]:
        name = path.relative_to(artifacts_dir).as_posix()
        # Odd parts of the split are the digit runs: `-10` sorts after `-9`.
        natural = [int(part) if i % 2 else part for i, part in enumerate(_NUMBER.split(name))]
        return ("screenshot_final" in name, natural)

    return max(candidates, key=rank)


def is_plain_component(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def duration_of(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()
