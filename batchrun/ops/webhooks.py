"""`batchrun webhooks replay`: send the webhooks of a batch's finished runs again.

For the morning after a receiving endpoint was down: each selected task's last run, once
finished, is handed to POST /v1/runs/{id}/retry_webhook, which performs one signed delivery
and reports how it went. Replays go one at a time, so a receiver that has just recovered is
not flooded. The state is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from batchrun.api_access import is_fatal
from batchrun.api_access import unavailable as api_unavailable
from batchrun.client import SkyvernClient, SkyvernError
from batchrun.inspection.lookup import last_run_attempt
from batchrun.state import AttemptPhase, BatchRecord, StateStore

MAX_RESPONSE_CHARS = 200  # of the receiver's answer, shown when a delivery failed


@dataclass(frozen=True)
class Delivery:
    """One replayed webhook, or the API's reason for not sending it."""

    task_id: str
    run_id: str
    run_status: str | None  # the run's final status, as the state holds it
    target_url: str | None
    status_code: int | None  # the receiver's answer; None when there was none
    latency_ms: int | None
    error: str | None  # the delivery's error, or why the API refused to replay
    response_body: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class ReplayReport:
    deliveries: list[Delivery] = field(default_factory=list)
    not_finished: list[str] = field(default_factory=list)  # last run still going
    without_run: list[str] = field(default_factory=list)
    other_status: list[str] = field(default_factory=list)  # excluded by the status filter

    @property
    def ok(self) -> bool:
        return all(delivery.ok for delivery in self.deliveries)


async def replay_webhooks(
    client: SkyvernClient,
    store: StateStore,
    batch: BatchRecord,
    task_ids: Sequence[str],
    *,
    statuses: Collection[str] = (),
    webhook_url: str | None = None,
    on_delivery: Callable[[Delivery], None] = lambda _: None,
) -> ReplayReport:
    """Replay the webhook of each task's last run if it finished (with one of `statuses`,
    when given), to `webhook_url` instead of the run's own when given.

    `on_delivery` hears each outcome as it happens. A rejected key or an unreachable API
    raises `ApiUnavailableError` at once: the deliveries already reported stand.
    """
    report = ReplayReport()
    for task_id in task_ids:
        attempt = last_run_attempt(store.attempts_for_task(batch.id, task_id))
        if attempt is None or attempt.run_id is None:
            report.without_run.append(task_id)
            continue
        if attempt.phase != AttemptPhase.FINISHED:
            report.not_finished.append(task_id)
            continue
        if statuses and attempt.status not in statuses:
            report.other_status.append(task_id)
            continue
        delivery = await _replay(client, task_id, attempt.run_id, attempt.status, webhook_url)
        report.deliveries.append(delivery)
        on_delivery(delivery)
    return report


async def _replay(
    client: SkyvernClient,
    task_id: str,
    run_id: str,
    run_status: str | None,
    webhook_url: str | None,
) -> Delivery:
    try:
        replay = await client.retry_run_webhook(run_id, webhook_url)
    except SkyvernError as exc:
        if is_fatal(exc):
            raise api_unavailable(exc, client.base_url) from None
        # Not terminal yet, a retry still pending (409), no webhook URL, an unsafe target.
        return Delivery(task_id, run_id, run_status, webhook_url, None, None, f"not sent: {exc}")
    body = replay.response_body
    return Delivery(
        task_id=task_id,
        run_id=run_id,
        run_status=run_status,
        target_url=replay.target_webhook_url or webhook_url,
        status_code=replay.status_code,
        latency_ms=replay.latency_ms,
        error=replay.error,
        response_body=body[:MAX_RESPONSE_CHARS] if body else None,
    )
