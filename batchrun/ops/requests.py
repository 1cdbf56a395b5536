"""`plan --requests`: the exact request each task's next attempt would send, as a dry run.

The body, headers and endpoint are built by the same code `apply` uses (escalations for the
attempt, the attempt key tag), with the environment's values put back as `${VAR}` and the
API key masked. The key of a real attempt is random; here it reads `br-<next>`.
"""

from __future__ import annotations

from typing import Any

from batchrun.decide import NEEDS_A_RUN, Action
from batchrun.ops.plan import Plan
from batchrun.redaction import MASK
from batchrun.state import open_store

PLACEHOLDER_KEY = "br-<next>"


def next_requests(plan: Plan) -> list[dict[str, Any]]:
    """For each task `apply` would submit or resubmit, its next create request."""
    from batchrun.client import tag_request  # the HTTP client, loaded for --requests only

    tries = _tries_this_round(plan)
    requests = []
    for item in plan.tasks:
        task = item.task
        if task is None or item.action not in NEEDS_A_RUN:
            continue
        fresh = item.action in (Action.CREATE, Action.CHANGED, Action.RETRY)
        attempt = 1 if fresh else tries.get(task.id, 0) + 1
        request = task.request_for_attempt(attempt, redacted=True)
        body = tag_request(request.body, kind=task.kind, key=PLACEHOLDER_KEY, label=task.id)
        path = "/v1/run/agents" if task.kind == "workflow" else "/v1/run/tasks"
        if request.query:
            path += "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
        requests.append(
            {
                "task": task.id,
                "action": str(item.action),
                "attempt_of_request": attempt,
                "method": "POST",
                "path": path,
                "headers": {"x-api-key": MASK, **request.headers},
                "body": body,
            }
        )
    return requests


def _tries_this_round(plan: Plan) -> dict[str, int]:
    """Attempts already made for each task's current request (escalations depend on it)."""
    if plan.batch is None or not plan.location.state_path.exists():
        return {}
    store = open_store(plan.location.state_path)
    try:
        return {
            task_id: row.tries_this_round
            for task_id, row in store.scheduling_rows(plan.batch.id).items()
        }
    finally:
        store.close()
