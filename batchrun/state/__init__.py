"""The batch state: SQLite tables for batch instances, tasks, attempts and events."""

from batchrun.state.location import default_state_path, legacy_state_path, state_path_for
from batchrun.state.lock import BatchLock
from batchrun.state.records import (
    FINAL_TASK_STATES,
    AttemptPhase,
    AttemptRecord,
    BatchRecord,
    StoredTask,
    TaskEnd,
    TaskRecord,
    TaskState,
    Usage,
)
from batchrun.state.rows import now_utc
from batchrun.state.store import StateStore, open_store
from batchrun.state.tasks import SchedulingRow, SpecRecord, TaskSync

__all__ = [
    "FINAL_TASK_STATES",
    "AttemptPhase",
    "AttemptRecord",
    "BatchLock",
    "BatchRecord",
    "SchedulingRow",
    "SpecRecord",
    "StateStore",
    "StoredTask",
    "TaskEnd",
    "TaskRecord",
    "TaskState",
    "TaskSync",
    "Usage",
    "default_state_path",
    "legacy_state_path",
    "now_utc",
    "open_store",
    "state_path_for",
]
