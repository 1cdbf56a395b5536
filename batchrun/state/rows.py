"""Converting between SQLite rows and the state's records: by column name, never position."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from batchrun.state.packing import load_json_column
from batchrun.state.records import (
    AttemptPhase,
    AttemptRecord,
    BatchRecord,
    StoredTask,
    TaskRecord,
)


def now_utc() -> datetime:
    return datetime.now(UTC)


def ts(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def loads(value: str | bytes | None) -> Any:
    return load_json_column(value)  # plain JSON text, or packed (run responses)


BATCH_COLUMNS = (
    "id, spec_name, run_key, spec_path, created_at, updated_at, finished_at, active_s, stopped_json"
)


def batch_record(row: sqlite3.Row) -> BatchRecord:
    return BatchRecord(
        id=row["id"],
        spec_name=row["spec_name"],
        run_key=row["run_key"],
        spec_path=row["spec_path"],
        created_at=dt(row["created_at"]) or now_utc(),
        updated_at=dt(row["updated_at"]),
        finished_at=dt(row["finished_at"]),
        active_s=row["active_s"] or 0.0,
        stopped=loads(row["stopped_json"]),
    )


# The columns a task record is built from; `run_response_json` and `timeline_json` are the
# big ones, read only where they are shown.
TASK_COLUMNS = (
    "task_id, position, kind, state, attempts, run_id, last_status, failure_reason, "
    "output_json, output_verdict, validation_error, step_count, total_steps, started_at, "
    "finished_at, app_url, run_response_json, timeline_json, files_json, content_hash, "
    "exported, end_status, removed, artifacts_json, request_json, queued_s"
)


def task_record(row: sqlite3.Row) -> TaskRecord:
    return TaskRecord(
        task_id=row["task_id"],
        position=row["position"],
        kind=row["kind"],
        state=row["state"],
        attempts=row["attempts"],
        run_id=row["run_id"],
        last_status=row["last_status"],
        failure_reason=row["failure_reason"],
        output=loads(row["output_json"]),
        output_verdict=row["output_verdict"],
        validation_error=row["validation_error"],
        step_count=row["step_count"],
        total_steps=row["total_steps"],
        started_at=dt(row["started_at"]),
        finished_at=dt(row["finished_at"]),
        app_url=row["app_url"],
        run_response=loads(row["run_response_json"]),
        timeline=loads(row["timeline_json"]),
        files=loads(row["files_json"]) or [],
        content_hash=row["content_hash"],
        exported=bool(row["exported"]),
        end_status=row["end_status"],
        removed=bool(row["removed"]),
        artifacts=loads(row["artifacts_json"]) or [],
        request=loads(row["request_json"]),
        queued_s=row["queued_s"] or 0.0,
    )


STORED_TASK_COLUMNS = (
    "task_id, state, content_hash, attempts, end_status, removed, exported, position, "
    "request_json IS NOT NULL AS has_request"
)


def stored_task(row: sqlite3.Row) -> StoredTask:
    return StoredTask(
        task_id=row["task_id"],
        state=row["state"],
        content_hash=row["content_hash"],
        attempts=row["attempts"],
        end_status=row["end_status"],
        removed=bool(row["removed"]),
        exported=bool(row["exported"]),
        position=row["position"],
        has_request=bool(row["has_request"]),
    )


ATTEMPT_COLUMNS = (
    "id, task_id, number, attempt_key, phase, kind, request_json, reserved_steps, run_id, "
    "run_type, status, step_count, failure_reason, prepared_at, accepted_at, finished_at"
)


def attempt_record(row: sqlite3.Row) -> AttemptRecord:
    return AttemptRecord(
        id=row["id"],
        task_id=row["task_id"],
        number=row["number"],
        attempt_key=row["attempt_key"],
        phase=AttemptPhase(row["phase"]),
        kind=row["kind"],
        request=json.loads(row["request_json"]),
        reserved_steps=row["reserved_steps"],
        run_id=row["run_id"],
        run_type=row["run_type"],
        status=row["status"],
        step_count=row["step_count"],
        failure_reason=row["failure_reason"],
        prepared_at=dt(row["prepared_at"]) or now_utc(),
        accepted_at=dt(row["accepted_at"]),
        finished_at=dt(row["finished_at"]),
    )
