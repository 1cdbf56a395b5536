"""Looking closer at a batch's runs: task look-up, `inspect`, and the API failure rules that
`inspect`, `artifacts` and `webhooks replay` share."""

from typing import TYPE_CHECKING

from batchrun.inspection.lookup import find_task, last_run_attempt, pick_attempt, select_tasks
from batchrun.lazy import lazy_attributes

if TYPE_CHECKING:
    from batchrun.inspection.remote import api_unavailable, is_fatal, lookup_client
    from batchrun.inspection.render import render_text
    from batchrun.inspection.report import (
        LiveView,
        TaskInspection,
        add_live_view,
        read_inspection,
    )

# What talks to the API is loaded on use: `plan` and `apply --only` need `select_tasks` alone.
_REMOTE = ("api_unavailable", "is_fatal", "lookup_client")
_REPORT = ("LiveView", "TaskInspection", "add_live_view", "read_inspection")
__getattr__ = lazy_attributes(
    __name__,
    {name: "batchrun.inspection.remote" for name in _REMOTE}
    | {name: "batchrun.inspection.report" for name in _REPORT}
    | {"render_text": "batchrun.inspection.render"},
)

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
