"""`cancel`: cancel an instance's runs in flight, and mark its unfinished tasks canceled."""

from __future__ import annotations

from dataclasses import dataclass, field

from batchrun.api_access import ApiAccess, unavailable
from batchrun.client import SkyvernClient, SkyvernError
from batchrun.scheduler.run_lookup import find_attempt_run
from batchrun.state import FINAL_TASK_STATES, BatchRecord, StateStore


@dataclass
class CancelReport:
    canceled_runs: list[str] = field(default_factory=list)
    canceled_tasks: int = 0
    not_canceled: dict[str, str] = field(default_factory=dict)  # run id -> why


async def cancel(store: StateStore, batch: BatchRecord, access: ApiAccess) -> CancelReport:
    report = CancelReport()
    async with SkyvernClient(access.base_url, access.api_key) as client:
        try:
            runs = await _runs_in_flight(client, store, batch)
            if runs:
                result = await client.bulk_cancel_runs(list(runs))
                report.canceled_runs = list(result.cancelled)
                for run_id in result.failed:
                    report.not_canceled[run_id] = await _why_not(client, run_id)
        except SkyvernError as exc:
            raise unavailable(exc, client.base_url) from None
    refused = {runs[run_id] for run_id in report.not_canceled}
    # Read first, then write: a write while the read's cursor is open would need to upgrade a
    # read snapshot that a running `apply` may have made stale (SQLite: "database is locked").
    unfinished = [
        record.task_id
        for record in store.task_records(batch.id)
        if record.state not in FINAL_TASK_STATES and record.task_id not in refused
    ]
    for task_id in unfinished:
        store.cancel_task(batch.id, task_id, "canceled by `batchrun cancel`")
        report.canceled_tasks += 1
    return report


async def _runs_in_flight(
    client: SkyvernClient, store: StateStore, batch: BatchRecord
) -> dict[str, str]:
    """Run id -> task id for every open attempt; attempts whose answer was lost are looked up."""
    runs: dict[str, str] = {}
    known = store.known_run_ids(batch.id)
    for attempt in store.open_attempts(batch.id):
        run_id = attempt.run_id
        if run_id is None:
            found = await find_attempt_run(
                client,
                kind=attempt.kind,  # type: ignore[arg-type]
                body=attempt.request,
                key=attempt.attempt_key,
                sent_at=attempt.prepared_at,
                exclude_run_ids=known,
            )
            run_id = found.run_id if found is not None else None
        if run_id is not None:
            runs[run_id] = attempt.task_id
    return runs


async def _why_not(client: SkyvernClient, run_id: str) -> str:
    try:
        run = await client.get_run(run_id)
    except SkyvernError as exc:
        return str(exc)
    return f"it already ended {run.status}"
