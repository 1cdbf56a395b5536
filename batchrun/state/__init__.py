"""The batch state: SQLite tables for batches, tasks, attempts and events (see `store`)."""

from batchrun.state.lock import BatchLock
from batchrun.state.records import (
    FINAL_TASK_STATES,
    AttemptPhase,
    AttemptRecord,
    BatchRecord,
    TaskRecord,
    TaskState,
    Usage,
)
from batchrun.state.store import (
    Canceled,
    Failed,
    RetryLater,
    SchedulingRow,
    StateStore,
    Succeeded,
    TaskOutcome,
    default_state_path,
    now_utc,
    open_store,
    read_task_views,
)

__all__ = [
    "FINAL_TASK_STATES",
    "AttemptPhase",
    "AttemptRecord",
    "BatchLock",
    "BatchRecord",
    "Canceled",
    "Failed",
    "RetryLater",
    "SchedulingRow",
    "StateStore",
    "Succeeded",
    "TaskOutcome",
    "TaskRecord",
    "TaskState",
    "Usage",
    "default_state_path",
    "now_utc",
    "open_store",
    "read_task_views",
]
