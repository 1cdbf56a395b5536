"""The first pass over outputs.jsonl: bounded aggregates, whatever the batch size.

Memory stays flat at 100,000 tasks: top-N heaps for the slowest and costliest tasks, a
capped list of the table's positions, a counter of normalised failure reasons (itself
capped), status counts and the time span. Rows themselves are built in a second pass, and
only for the positions the table shows.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from batchrun.report.outputs import ColumnCounter, OutputColumns
from batchrun.report.rows import (
    PROBLEM_STATUSES,
    Records,
    as_datetime,
    as_int,
    duration_of,
    status_of,
    task_id_of,
)

TABLE_ROWS = 1000
TOP_N = 10
MAX_REASONS = 1000  # distinct normalised reasons counted; the rest are counted together
MAX_EXAMPLES = 3
MAX_REASON_TEXT = 200

_URL = re.compile(r"\bhttps?://\S+", re.IGNORECASE)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_RUN_ID = re.compile(r"\b(?:tsk|wr|wpid|o|oc)_[A-Za-z0-9]+\b")
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TaskFigure:
    """One task in a top-N list."""

    position: int
    task_id: str
    status: str
    value: float  # seconds, or steps


@dataclass
class FailureGroup:
    status: str  # failed or canceled
    end_status: str  # the run status it ended with, "" when unknown
    reason: str  # normalised
    count: int = 0
    examples: list[str] = field(default_factory=list)  # task ids


@dataclass
class Overview:
    total: int = 0
    unreadable: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    runs: int = 0  # sum of attempts: only shown when summary.json is missing
    steps: int = 0
    file_error_tasks: int = 0
    first_start: datetime | None = None
    last_finish: datetime | None = None
    timed: int = 0  # tasks with both a start and a finish
    slowest: list[TaskFigure] = field(default_factory=list)
    most_steps: list[TaskFigure] = field(default_factory=list)
    failures: list[FailureGroup] = field(default_factory=list)  # failed first, then by count
    ungrouped_failures: int = 0  # failures past MAX_REASONS distinct reasons
    table_positions: list[int] = field(default_factory=list)  # in display order
    columns: OutputColumns = field(default_factory=lambda: OutputColumns((), False))


def normalise_reason(text: str) -> str:
    """One group for `Timed out after 30s on https://a/1` and `... 45s on https://b/2`."""
    text = _URL.sub("<url>", text)
    text = _UUID.sub("<id>", text)
    text = _RUN_ID.sub("<id>", text)
    text = _HEX.sub("<id>", text)
    text = _NUMBER.sub("N", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_REASON_TEXT:
        text = text[: MAX_REASON_TEXT - 1] + "…"
    return text or "no reason given"


class _Top:
    """The N largest values, earlier tasks first among equals."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.heap: list[tuple[float, int, str, str]] = []

    def offer(self, value: float, position: int, task_id: str, status: str) -> None:
        item = (value, -position, task_id, status)
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, item)
        elif item > self.heap[0]:
            heapq.heapreplace(self.heap, item)

    def ranked(self) -> list[TaskFigure]:
        return [
            TaskFigure(-neg_position, task_id, status, value)
            for value, neg_position, task_id, status in sorted(self.heap, reverse=True)
        ]


class _Scan:
    def __init__(self) -> None:
        self.view = Overview()
        self.slowest = _Top(TOP_N)
        self.costliest = _Top(TOP_N)
        self.groups: dict[tuple[str, str, str], FailureGroup] = {}
        self.problem_rows: list[int] = []
        self.other_rows: list[int] = []
        self.columns = ColumnCounter()

    def add(self, position: int, record: dict[str, Any]) -> None:
        view = self.view
        view.total += 1
        status = status_of(record)
        task_id = task_id_of(position, record)
        view.by_status[status] += 1
        attempts = as_int(record.get("attempts"))
        view.runs += attempts or 0
        steps = as_int(record.get("step_count"))
        if steps is not None:
            view.steps += steps
            self.costliest.offer(steps, position, task_id, status)
        if record.get("file_errors"):
            view.file_error_tasks += 1
        started = as_datetime(record.get("started_at"))
        finished = as_datetime(record.get("finished_at"))
        if started is not None and (view.first_start is None or started < view.first_start):
            view.first_start = started
        if finished is not None and (view.last_finish is None or finished > view.last_finish):
            view.last_finish = finished
        duration = duration_of(started, finished)
        if duration is not None:
            view.timed += 1
            self.slowest.offer(duration, position, task_id, status)
        # Failed and canceled rows lead the table; each list is capped at the table's size.
        rows = self.problem_rows if status in PROBLEM_STATUSES else self.other_rows
        if len(rows) < TABLE_ROWS:
            rows.append(position)
        if status in PROBLEM_STATUSES:
            self._count_failure(status, task_id, record)
        self.columns.observe(record.get("output"))

    def _count_failure(self, status: str, task_id: str, record: dict[str, Any]) -> None:
        end_status = str(record.get("end_status") or "")
        raw = record.get("failure_reason") or record.get("validation_error") or ""
        key = (status, end_status, normalise_reason(str(raw)))
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= MAX_REASONS:
                self.view.ungrouped_failures += 1
                return
            group = self.groups[key] = FailureGroup(*key)
        group.count += 1
        if len(group.examples) < MAX_EXAMPLES:
            group.examples.append(task_id)

    def finish(self, unreadable: int) -> Overview:
        view = self.view
        view.unreadable = unreadable
        view.slowest = self.slowest.ranked()
        view.most_steps = self.costliest.ranked()
        view.failures = sorted(
            self.groups.values(),
            key=lambda group: (group.status != "failed", -group.count, group.reason),
        )
        shown = self.problem_rows[:TABLE_ROWS]
        view.table_positions = shown + self.other_rows[: TABLE_ROWS - len(shown)]
        view.columns = self.columns.columns()
        return view


def scan_outputs(outputs_jsonl: Path) -> Overview:
    """The first pass: everything the report needs except the shown rows themselves."""
    records = Records(outputs_jsonl)
    scan = _Scan()
    for position, record in records:
        scan.add(position, record)
    return scan.finish(records.unreadable)
