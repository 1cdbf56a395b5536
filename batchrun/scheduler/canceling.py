"""Canceling the runs in flight at once (an interrupt with --cancel-on-interrupt, a halt)."""

from __future__ import annotations

from batchrun.client import SkyvernClient, SkyvernError
from batchrun.events import EventKind
from batchrun.scheduler.emitter import Emitter
from batchrun.state import StateStore


async def cancel_in_flight(
    client: SkyvernClient,
    store: StateStore,
    emit: Emitter,
    owners: dict[str, str],
    reason: str,
) -> None:
    """One bulk cancel for the runs `owners` maps to their tasks; each task the server
    canceled a run of ends canceled."""
    owners = dict(owners)  # the runs in flight when asked, whatever ends meanwhile
    if not owners:
        return
    try:
        result = await client.bulk_cancel_runs(list(owners))
    except SkyvernError as exc:
        emit(EventKind.WARNING, f"could not cancel runs in flight: {exc}", "warning")
        return
    for run_id in result.cancelled:
        task_id = owners.get(run_id)
        if task_id is None:
            continue
        store.cancel_task(emit.batch_id, task_id, reason)
        emit(EventKind.TASK_CANCELED, reason, task=task_id, run_id=run_id)
