"""The tasks of a batch instance: bringing them in line with the spec, and reading them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchrun.state.attempts import AttemptTable
from batchrun.state.records import OPEN_PHASES, AttemptPhase, StoredTask, TaskRecord, TaskState
from batchrun.state.rows import (
    STORED_TASK_COLUMNS,
    TASK_COLUMNS,
    dt,
    dumps,
    loads,
    now_utc,
    stored_task,
    task_record,
    ts,
)


@dataclass(frozen=True, slots=True)
class TaskSync:
    """What the start of an `apply` does to one stored task (see `batchrun.decide`).

    `change`: "insert" (never stored), "refresh" (still never submitted: take the spec's
    request), "new_round" (a changed request, or a retry the user asked for: pending again
    with a fresh allowance of attempts), "keep" (as it stands), "remove" (no longer in the
    spec).
    """

    task_id: str
    change: str
    position: int = 0
    kind: str = "task"
    content_hash: str = ""
    request: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SpecRecord:
    """The spec load a sync brought the tasks in line with (see `spec/inputs.py`):
    `fingerprint` is kept on the instance, the rest under `key` for whoever loads the spec
    file next."""

    key: str
    fingerprint: str
    inputs_json: str
    snapshot_json: str | None  # None: the inputs and snapshot saved under `key` still hold


@dataclass(frozen=True, slots=True)
class SchedulingRow:
    """What the scheduler needs of a stored task to decide what to do next."""

    task_id: str
    state: TaskState
    attempts: int
    round_start: int
    next_attempt_at: datetime | None
    exported: bool

    @property
    def tries_this_round(self) -> int:
        """Attempts made for the current request: the retry policy's allowance counts these."""
        return self.attempts - self.round_start


_SYNC_CHUNK = 2000
_SYNC_SQL = {
    "insert": "INSERT INTO tasks (batch_id, task_id, position, kind, content_hash, "
    "request_json, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "refresh": "UPDATE tasks SET position = ?, kind = ?, content_hash = ?, request_json = ?, "
    "removed = 0, updated_at = ? WHERE batch_id = ? AND task_id = ?",
    "new_round": "UPDATE tasks SET position = ?, kind = ?, content_hash = ?, request_json = ?, "
    "state = ?, round_start = attempts, next_attempt_at = NULL, failure_reason = NULL, "
    "end_status = NULL, finished_at = NULL, exported = 0, removed = 0, updated_at = ? "
    "WHERE batch_id = ? AND task_id = ?",
    # A task back in the spec after it was removed is exported again.
    "keep": "UPDATE tasks SET position = ?, exported = exported * (1 - removed), removed = 0, "
    "request_json = COALESCE(request_json, ?) WHERE batch_id = ? AND task_id = ?",
    "remove": "UPDATE tasks SET removed = 1, updated_at = ? WHERE batch_id = ? AND task_id = ?",
}


def _sync_params(c: TaskSync, batch_id: int, stamp: str | None) -> tuple[Any, ...]:
    """The parameters of `_SYNC_SQL[c.change]`."""
    match c.change:
        case "insert":
            request = _json(c.request)
            return (batch_id, c.task_id, c.position, c.kind, c.content_hash, request,
                    TaskState.PENDING, stamp)  # fmt: skip
        case "refresh":
            request = _json(c.request)
            return (c.position, c.kind, c.content_hash, request, stamp, batch_id, c.task_id)
        case "new_round":
            request = _json(c.request)
            return (c.position, c.kind, c.content_hash, request, TaskState.PENDING, stamp,
                    batch_id, c.task_id)  # fmt: skip
        case "keep":
            return (c.position, _json(c.request), batch_id, c.task_id)
        case "remove":
            return (stamp, batch_id, c.task_id)
    raise ValueError(f"unknown task change {c.change!r}")


class TaskTable(AttemptTable):
    def sync_tasks(
        self, batch_id: int, changes: Iterable[TaskSync], spec: SpecRecord | None = None
    ) -> None:
        """Apply the start-of-`apply` decisions in one transaction, `changes` consumed as they
        come (at 100,000 tasks, their requests never all sit in memory at once). `spec`: the
        load that covered every task (None: the instance no longer matches a known load)."""
        stamp = ts(now_utc())
        pending: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in _SYNC_SQL}
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET spec_fingerprint = ? WHERE id = ?",
                (spec.fingerprint if spec is not None else None, batch_id),
            )
            if spec is not None and spec.snapshot_json is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO spec_snapshots (spec_key, inputs_json, "
                    "snapshot_json, saved_at) VALUES (?, ?, ?, ?)",
                    (spec.key, spec.inputs_json, spec.snapshot_json, stamp),
                )
            for change in changes:
                rows = pending[change.change]
                rows.append(_sync_params(change, batch_id, stamp))
                if len(rows) >= _SYNC_CHUNK:
                    conn.executemany(_SYNC_SQL[change.change], rows)
                    rows.clear()
            for kind, rows in pending.items():
                if rows:
                    conn.executemany(_SYNC_SQL[kind], rows)

    def spec_snapshot(self, spec_key: str) -> tuple[str, str] | None:
        """(inputs_json, snapshot_json) last saved for the spec file `spec_key`."""
        row = self._conn.execute(
            "SELECT inputs_json, snapshot_json FROM spec_snapshots WHERE spec_key = ?",
            (spec_key,),
        ).fetchone()
        return (row["inputs_json"], row["snapshot_json"]) if row else None

    def spec_fingerprint(self, batch_id: int) -> str | None:
        row = self._conn.execute(
            "SELECT spec_fingerprint FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        return row["spec_fingerprint"] if row else None

    def tasks_needing_work(self, batch_id: int, *, limit: int = -1) -> list[str]:
        """Tasks not ended, or ended with their results not written: what an `apply` with
        no retry asked for would work on (`batchrun.decide`, for an unchanged spec)."""
        rows = self._conn.execute(
            "SELECT task_id FROM tasks WHERE batch_id = ? AND removed = 0 "
            "AND (state IN ('pending', 'submitting', 'running', 'retry_wait') OR exported = 0) "
            "LIMIT ?",
            (batch_id, limit),
        )
        return [row[0] for row in rows]

    def stored_tasks(self, batch_id: int) -> dict[str, StoredTask]:
        rows = self._conn.execute(
            f"SELECT {STORED_TASK_COLUMNS} FROM tasks WHERE batch_id = ?", (batch_id,)
        )
        return {row["task_id"]: stored_task(row) for row in rows}

    def stored_requests(self, batch_id: int, task_ids: Iterable[str]) -> dict[str, Any]:
        """Attempt 1's request as each task last asked for it (for `plan`'s changed fields)."""
        found: dict[str, Any] = {}
        wanted = list(task_ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._conn.execute(
                "SELECT task_id, request_json FROM tasks WHERE batch_id = ? AND task_id IN "
                f"({', '.join('?' * len(chunk))})",
                (batch_id, *chunk),
            )
            for row in rows:
                if row["request_json"] is not None:
                    found[row["task_id"]] = loads(row["request_json"])
        return found

    def scheduling_rows(
        self, batch_id: int, *, started_only: bool = False
    ) -> dict[str, SchedulingRow]:
        """Every stored task's row; `started_only`: only those with a try made for their
        current request or a retry wait (the others start afresh: at the start of a batch
        of 100,000 tasks, none of them)."""
        started = " AND (attempts > round_start OR next_attempt_at IS NOT NULL)"
        rows = self._conn.execute(
            "SELECT task_id, state, attempts, round_start, next_attempt_at, exported "
            "FROM tasks WHERE batch_id = ? AND removed = 0" + (started if started_only else ""),
            (batch_id,),
        )
        return {
            row["task_id"]: SchedulingRow(
                task_id=row["task_id"],
                state=TaskState(row["state"]),
                attempts=row["attempts"],
                round_start=row["round_start"],
                next_attempt_at=dt(row["next_attempt_at"]),
                exported=bool(row["exported"]),
            )
            for row in rows
        }

    def task_records(
        self,
        batch_id: int,
        task_ids: Iterable[str] | None = None,
        *,
        include_removed: bool = False,
    ) -> Iterator[TaskRecord]:
        """Tasks in spec order (all of them, or just `task_ids`); removed ones only on request."""
        if task_ids is None:
            removed = "" if include_removed else " AND removed = 0"
            cursor = self._conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE batch_id = ?{removed} ORDER BY position",
                (batch_id,),
            )
            for row in cursor:
                yield task_record(row)
            return
        wanted = list(task_ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE batch_id = ? AND task_id IN "
                f"({', '.join('?' * len(chunk))}) ORDER BY position",
                (batch_id, *chunk),
            ).fetchall()
            for row in rows:
                yield task_record(row)

    def task_record(self, batch_id: int, task_id: str) -> TaskRecord | None:
        return next(self.task_records(batch_id, [task_id]), None)

    def task_state(self, batch_id: int, task_id: str) -> TaskState | None:
        row = self._conn.execute(
            "SELECT state FROM tasks WHERE batch_id = ? AND task_id = ?", (batch_id, task_id)
        ).fetchone()
        return TaskState(row["state"]) if row else None

    def count_by_state(self, batch_id: int) -> dict[str, int]:
        rows = self._conn.execute(
            "SELECT state, COUNT(*) AS n FROM tasks WHERE batch_id = ? AND removed = 0 "
            "GROUP BY state",
            (batch_id,),
        )
        return {row["state"]: row["n"] for row in rows}

    def record_export(
        self,
        batch_id: int,
        task_id: str,
        *,
        files: list[dict[str, Any]],
        artifacts: list[dict[str, Any]],
        timeline: list[Any] | None,
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE tasks SET files_json = ?, artifacts_json = ?, timeline_json = ?, "
                "exported = 1 WHERE batch_id = ? AND task_id = ?",
                (
                    dumps(files),
                    dumps(artifacts),
                    dumps(timeline) if timeline is not None else None,
                    batch_id,
                    task_id,
                ),
            )

    def record_output_check(
        self, batch_id: int, task_id: str, *, output: Any, verdict: str | None, error: str | None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE tasks SET output_json = ?, output_verdict = ?, validation_error = ? "
                "WHERE batch_id = ? AND task_id = ?",
                (dumps(output), verdict, error, batch_id, task_id),
            )

    def cancel_task(self, batch_id: int, task_id: str, reason: str) -> None:
        """Mark a task canceled and close its open attempts (their runs were canceled)."""
        stamp = ts(now_utc())
        with self._transaction() as conn:
            # Their runs' real step counts are unknown: their reserved steps stay counted as
            # spent, the safe side of a budget.
            conn.execute(
                "UPDATE attempts SET phase = ?, status = COALESCE(status, 'canceled'), "
                "finished_at = ? WHERE batch_id = ? AND task_id = ? AND phase IN (?, ?, ?)",
                (AttemptPhase.FINISHED, stamp, batch_id, task_id, *OPEN_PHASES),
            )
            conn.execute(
                "UPDATE tasks SET state = ?, end_status = 'canceled', failure_reason = ?, "
                "finished_at = ?, exported = 0, next_attempt_at = NULL, updated_at = ? "
                "WHERE batch_id = ? AND task_id = ?",
                (TaskState.CANCELED, reason, stamp, stamp, batch_id, task_id),
            )


def _json(value: Any) -> str | None:
    return dumps(value) if value is not None else None


# The file lists only matter to the summary for their errors (`"error":"..."`; an intact
# file has `"error":null`): most tasks have none, and parsing 100,000 lists of files to find
# none was most of the time a summary took.
SUMMARY_COLUMNS = (
    "task_id, state, attempts, total_steps, started_at, finished_at, end_status, "
    "failure_reason, run_id, queued_s, removed, "
    """CASE WHEN instr(files_json, '"error":"') THEN files_json END AS files_json, """
    """CASE WHEN instr(artifacts_json, '"error":"') THEN artifacts_json END AS artifacts_json"""
)


class SummaryReads(TaskTable):
    def summary_rows(self, batch_id: int) -> Iterator[dict[str, Any]]:
        """The light columns the summary counts, one task at a time (removed ones flagged);
        `files` and `artifacts` hold a task's lists only when one of them has an error."""
        cursor = self._conn.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM tasks WHERE batch_id = ? ORDER BY position",
            (batch_id,),
        )
        for row in cursor:
            yield {
                "task_id": row["task_id"],
                "state": row["state"],
                "attempts": row["attempts"],
                "total_steps": row["total_steps"],
                "started_at": dt(row["started_at"]),
                "finished_at": dt(row["finished_at"]),
                "end_status": row["end_status"],
                "failure_reason": row["failure_reason"],
                "run_id": row["run_id"],
                "files": loads(row["files_json"]) or [],
                "artifacts": loads(row["artifacts_json"]) or [],
                "queued_s": row["queued_s"] or 0.0,
                "removed": bool(row["removed"]),
            }
