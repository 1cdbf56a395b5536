"""Looking closer at a batch's runs: task look-up, `inspect`, and the API failure rules that
`inspect`, `artifacts` and `webhooks replay` share."""

from batchrun.inspection.lookup import find_task, last_run_attempt, pick_attempt, select_tasks
from batchrun.inspection.remote import (
    api_unavailable,
    is_fatal,
    lookup_client,
)
from batchrun.inspection.render import render_text
from batchrun.inspection.report import LiveView, TaskInspection, add_live_view, read_inspection

__all__ = [
    "LiveView",
    "TaskInspection",
    "add_live_view",
    "api_unavailable",
    "find_task",
    "is_fatal",
    "last_run_attempt",
    "lookup_client",
    "pick_attempt",
    "read_inspection",
    "render_text",
    "select_tasks",
]
