"""`apply` as a library call: wire spec, state, client, results and console, run, summarise."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import anyio

from batchrun.api_access import ApiAccess
from batchrun.client import SkyvernClient
from batchrun.errors import ApiUnavailableError, BatchrunError, ExitCode
from batchrun.events import BatchEvent, EventKind, EventSink
from batchrun.export import ResultsDir
from batchrun.scheduler import ApplyOptions, ApplyStats, ResultsExporter, Scheduler
from batchrun.spec import BatchSpec
from batchrun.state import BatchLock, BatchRecord, StateStore, TaskState
from batchrun.summary import BatchSummary, FailedTask


@dataclass(frozen=True)
class ApplyResult:
    summary: BatchSummary
    exit_code: ExitCode
    fatal: ApiUnavailableError | None


def new_run_key(store: StateStore, spec_name: str) -> str:
    """A run key from the local time, made unique (`--new` twice in a second)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    key, n = stamp, 1
    while store.find_batch(spec_name, key) is not None:
        n += 1
        key = f"{stamp}-{n}"
    return key


def resolve_batch(
    store: StateStore, spec: BatchSpec, *, run_key: str | None, new: bool
) -> BatchRecord:
    """`--run KEY` names the instance; without it the latest one resumes; `--new` starts one."""
    if not new:
        existing = store.find_batch(spec.name, run_key)
        if existing is not None:
            return existing
    if run_key is not None and not new:
        return store.create_batch(spec.name, run_key, str(spec.path))
    return store.create_batch(spec.name, new_run_key(store, spec.name), str(spec.path))


def results_dir_for(spec: BatchSpec, batch: BatchRecord, override: Path | None) -> ResultsDir:
    return ResultsDir(override or spec.results_dir, spec.name, batch.run_key)


def apply_batch(
    spec: BatchSpec,
    store: StateStore,
    batch: BatchRecord,
    access: ApiAccess,
    console: EventSink,
    options: ApplyOptions,
    *,
    results_root: Path | None = None,
    secrets: set[str] | frozenset[str] = frozenset(),
) -> ApplyResult:
    started = time.monotonic()
    results = results_dir_for(spec, batch, results_root)
    store.redact({access.api_key, *secrets})
    with BatchLock(store.path, spec.name, batch.run_key):
        client = SkyvernClient(access.base_url, access.api_key)
        exporter = ResultsExporter(
            spec, batch, store, client, results, console, {access.api_key, *secrets}
        )
        scheduler = Scheduler(spec, batch, store, client, exporter, console, options)
        try:
            stats = anyio.run(_run, scheduler)
        except ApiUnavailableError as error:
            stats = scheduler.stats
            stats.fatal = stats.fatal or error
        except KeyboardInterrupt:
            stats = scheduler.stats
            stats.interrupted = True
    summary = summarise(spec, store, batch, stats, time.monotonic() - started, results.path)
    # Kept with the state too, so that `batchrun export` rebuilds the same summary.json.
    store.add_event(
        batch.id,
        BatchEvent(
            EventKind.BATCH_FINISHED,
            f"{spec.name}/{batch.run_key}",
            summary.headline(),
            data=summary.as_dict(),
        ),
    )
    store.flush_events()
    if results.path.exists():  # nothing to summarise there if the API was never reached
        results.write_summary(summary.as_dict())
    return ApplyResult(summary, exit_code_for(summary, stats), stats.fatal)


async def _run(scheduler: Scheduler) -> ApplyStats:
    try:
        async with scheduler.client:
            return await scheduler.run()
    except BaseExceptionGroup as group:
        raise _primary_error(group) from None


def _primary_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error worth reporting out of a task group's bundle: ours first, then any other."""
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(group)
    for error in leaves:
        if isinstance(error, BatchrunError):
            return error
    return leaves[0]


def summarise(
    spec: BatchSpec,
    store: StateStore,
    batch: BatchRecord,
    stats: ApplyStats,
    wall_time_s: float,
    results_path: Path | None,
) -> BatchSummary:
    wanted = {task.id for task in spec.tasks}
    counts = dict.fromkeys(("succeeded", "failed", "canceled", "pending"), 0)
    failed: list[FailedTask] = []
    steps = 0
    for record in store.task_records(batch.id):
        if record.task_id not in wanted:
            continue
        steps += record.total_steps
        state = record.state if record.state in counts else "pending"
        counts[state] += 1
        if record.state in (TaskState.FAILED, TaskState.CANCELED):
            failed.append(
                FailedTask(
                    record.task_id,
                    record.failure_reason or record.state,
                    record.run_id,
                    record.attempts,
                )
            )
    usage = store.usage(batch.id)
    return BatchSummary(
        batch=spec.name,
        run_key=batch.run_key,
        total=len(wanted),
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        canceled=counts["canceled"],
        pending=counts["pending"],
        retries=stats.retries,
        runs=usage.runs,
        steps=steps,
        wall_time_s=round(wall_time_s, 3),
        results_dir=results_path,
        budget_exhausted=stats.budget_exhausted,
        interrupted=stats.interrupted,
        failed_tasks=failed,
        spec_path=spec.path,
    )


def exit_code_for(summary: BatchSummary, stats: ApplyStats) -> ExitCode:
    if stats.interrupted:
        return ExitCode.INTERRUPTED
    if stats.fatal is not None:
        return ExitCode.API_UNAVAILABLE
    if stats.budget_exhausted and summary.pending:
        return ExitCode.BUDGET_EXHAUSTED
    if summary.failed or summary.canceled:
        return ExitCode.TASKS_FAILED
    return ExitCode.OK
