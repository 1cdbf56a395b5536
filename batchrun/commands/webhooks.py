"""`batchrun webhooks replay`: send the webhooks of a batch's finished runs again."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import anyio
import click

from batchrun.api_access import ApiAccess, resolve_api_access
from batchrun.client import TERMINAL_STATUSES
from batchrun.commands.common import (
    HttpUrlType,
    api_url_option,
    batch_options,
    only_option,
    open_batch,
)
from batchrun.errors import BatchrunError, ExitCode
from batchrun.inspection import lookup_client, select_tasks
from batchrun.ops.webhooks import Delivery, ReplayReport, replay_webhooks
from batchrun.redaction import Redactor
from batchrun.state import BatchRecord, StateStore

_FINAL_STATUSES = sorted(str(status) for status in TERMINAL_STATUSES)


@click.group("webhooks")
def webhooks_group() -> None:
    """The webhooks Skyvern sends when a batch's runs finish."""


@webhooks_group.command("replay")
@batch_options
@only_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_FINAL_STATUSES),
    help="Only runs that ended with this status (repeatable).",
)
@click.option(
    "--url",
    "webhook_url",
    type=HttpUrlType(),
    metavar="URL",
    help="Send to URL instead of the run's own.",
)
@api_url_option
def replay_command(
    spec_path: Path,
    run_key: str | None,
    state_path: Path | None,
    only: str | None,
    statuses: tuple[str, ...],
    webhook_url: str | None,
    api_url: str | None,
) -> None:
    """Re-send the webhook of every matching task whose last run has finished (one signed
    delivery each, through Skyvern's retry-webhook endpoint) and print how each went.

    Exit codes: 0 every delivery got a 2xx answer; 1 some did not (or Skyvern refused to
    send one); 2 bad usage; 3 the API rejected the key or could not be reached.
    """
    with open_batch(spec_path, state_path) as ctx:
        access = resolve_api_access(ctx.spec, api_url=api_url)
        secrets = ctx.secrets | {access.api_key}
        batch = ctx.instance(run_key)
        tasks = select_tasks(ctx.spec, only)
        report = anyio.run(_replay, ctx.store, batch, tasks, statuses, webhook_url, access, secrets)
    _print_summary(report)
    if not report.ok:
        raise BatchrunError(
            "some webhooks were not delivered (see above)", exit_code=ExitCode.TASKS_FAILED
        )


async def _replay(
    store: StateStore,
    batch: BatchRecord,
    tasks: list[str],
    statuses: tuple[str, ...],
    webhook_url: str | None,
    access: ApiAccess,
    secrets: Collection[str],
) -> ReplayReport:
    async with lookup_client(access) as client:
        return await replay_webhooks(
            client,
            store,
            batch,
            tasks,
            statuses=statuses,
            webhook_url=webhook_url,
            on_delivery=lambda delivery: click.echo(_delivery_line(delivery, secrets)),
        )


def _delivery_line(delivery: Delivery, secrets: Collection[str]) -> str:
    # A target URL can carry credentials (user:password@, ?token=): masked like everything
    # else batchrun prints.
    redactor = Redactor(secrets)
    target = redactor.value(delivery.target_url or "(no target)")
    head = f"  {delivery.task_id}  {delivery.run_id}  {delivery.run_status or '-'}  -> {target}"
    if delivery.ok:
        return f"{head}  {delivery.status_code} in {delivery.latency_ms} ms: delivered"
    answer = f"{delivery.status_code}" if delivery.status_code else "no answer"
    timing = f" in {delivery.latency_ms} ms" if delivery.latency_ms is not None else ""
    detail = delivery.error or (delivery.response_body or "").replace("\n", " ").strip()
    detail = redactor.value(detail)
    return f"{head}  {answer}{timing}: FAILED" + (f": {detail}" if detail else "")


def _print_summary(report: ReplayReport) -> None:
    delivered = sum(1 for d in report.deliveries if d.ok)
    parts = [
        f"{len(report.deliveries)} webhook(s) replayed: {delivered} delivered, "
        f"{len(report.deliveries) - delivered} failed"
    ]
    if report.not_finished:
        parts.append(f"{len(report.not_finished)} task(s) still running")
    if report.without_run:
        parts.append(f"{len(report.without_run)} task(s) without a run yet")
    if report.other_status:
        parts.append(f"{len(report.other_status)} task(s) with another status")
    click.echo("; ".join(parts))
