"""Helpers for the look-closer commands: tasks of the shop batch, and a batch as a crashed
`apply` leaves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workspace import SITE, Workspace

from batchrun.ops.apply import sync_with_spec
from batchrun.spec import load_spec
from batchrun.state import open_store


def task(task_id: str, path: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "prompt": f"Find the price on {path}", "url": f"{SITE}/{path}", **fields}


def record_unfinished_attempts(workspace: Workspace, spec_path: Path) -> None:
    """A batch as a crashed or refused `apply` leaves it, written through the state API:
    `refused`'s only attempt was turned down before a run existed (HTTP 400), `running`'s
    run was accepted and has not finished."""
    spec = load_spec(spec_path)
    store = open_store(workspace.state)
    try:
        batch = store.create_batch(spec.name, "crashed", str(spec_path))
        sync_with_spec(store, batch.id, spec.tasks)
        refused = store.begin_attempt(
            batch.id, "refused", attempt_key="k-refused", kind="task", request={},
            reserved_steps=10,
        )  # fmt: skip
        store.attempt_not_created(
            refused, batch_id=batch.id, reason="HTTP 400: Invalid URL", final=True
        )
        running = store.begin_attempt(
            batch.id, "running", attempt_key="k-running", kind="task", request={},
            reserved_steps=10,
        )  # fmt: skip
        store.attempt_accepted(
            running, batch_id=batch.id, run_id="tsk_1", run_type="task_v1", status="running",
            app_url=None,
        )  # fmt: skip
    finally:
        store.close()
