"""Fixtures shared by the export tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from batchrun.state import TaskRecord

STARTED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
FINISHED = datetime(2026, 3, 1, 12, 0, 42, 500000, tzinfo=UTC)


def _task_record(task_id: str, position: int, **changes: Any) -> TaskRecord:
    fields: dict[str, Any] = {
        "task_id": task_id,
        "position": position,
        "kind": "task",
        "state": "succeeded",
        "attempts": 1,
        "run_id": f"tsk_{task_id}",
        "last_status": "completed",
        "failure_reason": None,
        "output": None,
        "output_verdict": "unchecked",
        "validation_error": None,
        "step_count": 3,
        "total_steps": 3,
        "started_at": STARTED,
        "finished_at": FINISHED,
        "app_url": f"https://app.skyvern.com/tasks/tsk_{task_id}",
        "run_response": {"run_id": f"tsk_{task_id}", "status": "completed"},
        "timeline": None,
        "files": [],
        "content_hash": "h",
        "exported": True,
    }
    fields.update(changes)
    return TaskRecord(**fields)


@pytest.fixture
def make_record() -> Callable[..., TaskRecord]:
    """`make_record(task_id, position, **fields)`: a finished TaskRecord with sane defaults."""
    return _task_record
