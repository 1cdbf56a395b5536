"""`apply`: run a batch instance, or resume it where it stopped.

Before anything is paid for it proves the batch can finish (`preflight`); then it brings
the stored tasks in line with the spec by the one decision `plan` shows (`batchrun.decide`),
lets the scheduler drive the tasks that need a run, and ends with the instance's summary,
computed from the state.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import anyio

from batchrun.api_access import ApiAccess, unavailable
from batchrun.client import SkyvernClient, SkyvernError
from batchrun.decide import NEEDS_A_RUN, NO_RETRY, Action, RetryRequest
from batchrun.errors import ApiUnavailableError, BatchrunError
from batchrun.events import EventKind, EventSink
from batchrun.export.task_export import ExportSettings
from batchrun.halt import HaltPolicyValue, HaltTracker, halt_policy_with_overrides
from batchrun.ops.context import BatchContext, BatchLocation, api_key_secrets, find_instance
from batchrun.ops.diff import write_instance_diff
from batchrun.ops.invocation import (
    ApplyResult,
    InvocationEnd,
    close_invocation,
    located_event,
    started_message,
    write_results,
)
from batchrun.ops.plan import PlannedTask, decide_tasks, redacted_request
from batchrun.ops.preflight import check_local_writes
from batchrun.ops.results import (
    artifact_types,
    move_removed_tasks,
)
from batchrun.ops.unchanged import spec_record
from batchrun.redaction import Redactor
from batchrun.scheduler import ResultsExporter, RunStats, Scheduler, SchedulerOptions
from batchrun.scheduler.history import (
    expected_durations,
    longest_first,
    schedule_wall_s,
    with_estimates,
)
from batchrun.scheduler.push import CompletionPush, ListenOptions
from batchrun.scheduler.work_queue import Job
from batchrun.spec import BatchSpec, TaskSpec
from batchrun.state import BatchLock, BatchRecord, SpecRecord, StateStore, TaskSync, now_utc


@dataclass(frozen=True)
class ApplyOptions:
    run_key: str | None = None  # the instance (default: the latest one, or a first one)
    new: bool = False  # start a fresh instance
    only: Collection[str] | None = None  # task ids to consider (None: all)
    retry: RetryRequest = NO_RETRY  # ended tasks to run again
    concurrency: int | None = None  # runs in flight (default: the spec's)
    cancel_on_interrupt: bool = False
    give_up_after_s: float = 300.0
    reconcile_settle_s: float = 20.0
    handle_signals: bool = True
    report: bool = True
    export_workers: int = 4
    # Command-line overrides of the spec's halt policy.
    halt_on_failures: int | None = None
    halt_on_rate: float | None = None
    halt_mode: str | None = None
    diff_from: str | None = None  # write diff.json against this instance at the end
    # "longest": start the tasks earlier instances saw take longest first; "spec": file order.
    order: str = "longest"
    # `--listen`: serve a webhook receiver and have every run report its end to it.
    listen: ListenOptions | None = None
    # Set when the spec holds only the tasks with work left, its other tasks proved
    # unchanged by this fingerprint (`ops/unchanged.py`): the others are left as they are.
    proven_fingerprint: str | None = None


def apply(
    location: BatchLocation,
    access: ApiAccess,
    sink: EventSink,
    options: ApplyOptions = ApplyOptions(),
) -> ApplyResult:
    """Run the batch (blocking); see `apply_async`."""
    return anyio.run(lambda: apply_async(location, access, sink, options))


async def apply_async(
    location: BatchLocation,
    access: ApiAccess,
    sink: EventSink,
    options: ApplyOptions = ApplyOptions(),
) -> ApplyResult:
    """Run the instance to its end (or until interrupted, out of budget, or the API is gone)."""
    spec = location.spec
    check_local_writes(location)
    # Every option checked before anything is created or paid for.
    halt = halt_policy_with_overrides(
        spec.halt,
        max_failures=options.halt_on_failures,
        max_failure_rate=options.halt_on_rate,
        mode=options.halt_mode,
    )
    secrets = api_key_secrets(spec) | {access.api_key}
    push = CompletionPush(options.listen, api_key=access.api_key) if options.listen else None
    with BatchContext.open(location, create=True, secrets=secrets) as ctx:
        batch, run_key = _instance(ctx.store, spec, options)
        diff_base = find_instance(ctx.store, spec, options.diff_from) if options.diff_from else None
        label = f"{spec.name}/{run_key}"
        sink.emit(located_event(label, location.state_path, run_key, new=batch is None))
        stored = ctx.store.stored_tasks(batch.id) if batch is not None else {}
        only = options.only
        if options.proven_fingerprint is not None:
            only = {task.id for task in spec.tasks}
        planned = list(decide_tasks(spec.tasks, stored, options.retry, only=only))
        unexported = _unexported(planned)
        to_run = any(item.action in NEEDS_A_RUN for item in planned)
        with BatchLock(location.state_path, spec.name, run_key):
            async with SkyvernClient(access.base_url, access.api_key) as client:
                if to_run or unexported:
                    # A batch already done needs no API: cron re-running it exits 0 even if
                    # the API is down. Otherwise: is it there, is the key good, before any
                    # instance is created or anything is paid for?
                    await _check_access(client)
                try:
                    if push is not None:
                        push.bind()  # a taken port fails here, before anything is created
                    if batch is None:
                        batch = ctx.store.create_batch(spec.name, run_key, str(spec.path))
                    return await _run(
                        ctx, batch, client, sink, options, planned, unexported, halt, diff_base,
                        push,
                    )  # fmt: skip
                finally:
                    if push is not None:
                        push.receiver.close()


def _instance(
    store: StateStore, spec: BatchSpec, options: ApplyOptions
) -> tuple[BatchRecord | None, str]:
    """The instance to resume, or None and the key of the one to create once it is needed
    (never before: a refused key must leave the latest instance as it was)."""
    if options.new:
        return None, new_run_key(store, spec.name)
    batch = store.find_batch(spec.name, options.run_key)
    if batch is not None:
        return batch, batch.run_key
    return None, options.run_key or new_run_key(store, spec.name)


def new_run_key(store: StateStore, spec_name: str) -> str:
    """A run key from the local time, made unique (`--new` twice in a second)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    key, n = stamp, 1
    while store.find_batch(spec_name, key) is not None:
        n += 1
        key = f"{stamp}-{n}"
    return key


def _unexported(planned: list[PlannedTask]) -> list[str]:
    """Ended tasks whose results were never written (the process stopped first)."""
    kept = (Action.SKIP, Action.KEEP)
    return [
        item.task_id
        for item in planned
        if item.action in kept and item.stored is not None and not item.stored.exported
    ]


async def _check_access(client: SkyvernClient) -> None:
    try:
        await client.check_access()
    except SkyvernError as error:
        raise unavailable(error, client.base_url) from None


async def _run(
    ctx: BatchContext,
    batch: BatchRecord,
    client: SkyvernClient,
    sink: EventSink,
    options: ApplyOptions,
    planned: list[PlannedTask],
    unexported: list[str],
    halt: HaltPolicyValue | None,
    diff_base: BatchRecord | None,
    push: CompletionPush | None,
) -> ApplyResult:
    spec, store, location = ctx.spec, ctx.store, ctx.location
    started = time.monotonic()
    store.sync_tasks(batch.id, sync_changes(planned), _spec_record(ctx, options, planned))
    store.start_invocation(batch.id, str(spec.path))
    results = location.results_for(batch.run_key)
    move_removed_tasks(results, [i.task_id for i in planned if i.action == Action.REMOVE])
    jobs, tries = _jobs(store, batch, planned)
    counts = {action: 0 for action in Action}
    for item in planned:
        counts[item.action] += 1
    total = len(planned) - counts[Action.REMOVE]
    # The decisions are made and stored: 100,000 of them would stay in memory for the whole
    # run, and the caller has no further use for them.
    planned.clear()
    concurrency = options.concurrency or spec.concurrency
    jobs, expected_wall = _order(store, spec.name, jobs, options.order, concurrency)
    redactor = Redactor(ctx.secrets)
    label = f"{spec.name}/{batch.run_key}"
    exporter = ResultsExporter(
        batch,
        store,
        client,
        results,
        ExportSettings(artifact_types(spec), spec.export.max_file_size),
        sink,
        label,
    )
    exporter.remove_leftovers()
    scheduler = Scheduler(
        spec,
        batch,
        store,
        client,
        exporter,
        sink,
        SchedulerOptions(
            concurrency=concurrency,
            cancel_on_interrupt=options.cancel_on_interrupt,
            reconcile_settle_s=options.reconcile_settle_s,
            api_down_after_s=options.give_up_after_s,
            export_workers=options.export_workers,
            handle_signals=options.handle_signals,
        ),
        redactor,
        HaltTracker(halt),
        push,
    )
    skipped = counts[Action.SKIP] + counts[Action.KEEP]
    if options.proven_fingerprint is not None:  # the tasks not built are ended and kept
        not_built = sum(store.count_by_state(batch.id).values()) - total
        total, skipped = total + not_built, skipped + not_built
    scheduler._emit(
        EventKind.BATCH_STARTED,
        started_message(total, len(jobs), concurrency),
        data={
            "total": total,
            "to_run": len(jobs),
            "skipped": skipped,
            "spec_loaded": True,
            "tasks_built": len(spec.tasks),  # fewer than total: the rest proved unchanged
            "removed": counts[Action.REMOVE],
            "concurrency": concurrency,
            "order": options.order,
            "expected_wall_time_s": expected_wall,
            "run_key": batch.run_key,
            "state_path": str(location.state_path),
        },
    )
    error: BatchrunError | None = None
    try:
        stats = await scheduler.run(jobs, tries, unexported)
    except ApiUnavailableError as fatal:
        stats, error = scheduler.stats, fatal
    except KeyboardInterrupt:
        stats = scheduler.stats
        stats.interrupted = True
    summary = close_invocation(
        store,
        batch,
        None if options.proven_fingerprint else [task.id for task in spec.tasks],
        results=results,
        spec_path=spec.path,
        state_path=location.state_path,
        end=InvocationEnd(
            active_s=time.monotonic() - started if stats.worked else 0.0,
            stopped=_stopped(stats, error),
            expected_wall_time_s=expected_wall,
            webhooks=push.stats() if push is not None else None,
        ),
    )
    if diff_base is not None:
        write_instance_diff(store, spec, diff_base, batch, results.path)
    return write_results(
        results, summary, error, report=options.report, extra=location.summary_fields()
    )


def sync_with_spec(
    store: StateStore,
    batch_id: int,
    tasks: Sequence[TaskSpec],
    retry: RetryRequest = NO_RETRY,
) -> list[PlannedTask]:
    """Decide every task and bring the stored tasks in line, as the start of `apply` does."""
    planned = list(decide_tasks(tasks, store.stored_tasks(batch_id), retry))
    store.sync_tasks(batch_id, sync_changes(planned))
    return planned


def sync_changes(planned: Iterable[PlannedTask]) -> Iterator[TaskSync]:
    """The changes, made one at a time: each holds a copy of its task's request."""
    return (change for item in planned if (change := _sync(item)) is not None)


def _sync(item: PlannedTask) -> TaskSync | None:
    """The change to the stored task; None when it stands as the spec has it already."""
    task = item.task
    if task is None:
        return TaskSync(item.task_id, "remove")
    stored = item.stored
    if (
        item.action in _KEPT
        and stored is not None
        and stored.position == task.position
        and not stored.removed
        and stored.has_request
    ):
        return None
    fields = {
        "position": task.position,
        "kind": task.kind,
        "content_hash": task.content_hash,
        "request": redacted_request(task),
    }
    match item.action:
        case Action.CREATE:
            return TaskSync(task.id, "insert" if item.stored is None else "refresh", **fields)
        case Action.CHANGED | Action.RETRY:
            return TaskSync(task.id, "new_round", **fields)
    return TaskSync(task.id, "keep", position=task.position, request=fields["request"])


_KEPT = (Action.SKIP, Action.KEEP, Action.RESUME)


def _spec_record(
    ctx: BatchContext, options: ApplyOptions, planned: list[PlannedTask]
) -> SpecRecord | None:
    """The spec load to remember for the next `apply` (`ops/unchanged.py`), when every stored
    task now stands as this load has it: not with `--only` (the other tasks were not
    looked at), nor while a run of an older request is still in flight (its task takes the
    new request only once that run has ended)."""
    proven = options.proven_fingerprint
    if options.only is not None and proven is None:
        return None
    if any(
        item.action == Action.RESUME
        and item.task is not None
        and item.stored is not None
        and item.stored.content_hash != item.task.content_hash
        for item in planned
    ):
        return None
    return spec_record(ctx.spec, ctx.location.shard, proven=proven)


def _jobs(
    store: StateStore, batch: BatchRecord, planned: list[PlannedTask]
) -> tuple[list[Job], dict[str, int]]:
    """The tasks to drive, with the attempt a task left open (re-attach or look it up
    first) and the rest of a retry wait; and each task's attempts for its current request."""
    started = store.scheduling_rows(batch.id, started_only=True)
    open_attempts = {a.task_id: a for a in store.open_attempts(batch.id)}
    now = now_utc()
    jobs: list[Job] = []
    tries: dict[str, int] = {}  # a task left out has made no try (the scheduler counts 0)
    for item in planned:
        if item.action not in NEEDS_A_RUN or item.task is None:
            continue
        row = started.get(item.task_id)
        delay = 0.0
        if row is not None:
            tries[item.task_id] = row.tries_this_round
            if row.next_attempt_at is not None:
                delay = max(0.0, (row.next_attempt_at - now).total_seconds())
        elif item.task_id in open_attempts:
            tries[item.task_id] = 0  # as stored: the scheduler would count it 1
        jobs.append(Job(item.task, open_attempts.get(item.task_id), delay))
    return jobs, tries


def _order(
    store: StateStore, spec_name: str, jobs: list[Job], order: str, concurrency: int
) -> tuple[list[Job], float | None]:
    """The jobs in the order they start, and the wall time history expects of them."""
    ids = [job.task.id for job in jobs]
    known = expected_durations(store, spec_name, ids) if jobs else {}
    expected = with_estimates(ids, known)
    if known:
        jobs = [dataclasses.replace(job, expected_s=known.get(job.task.id)) for job in jobs]
    if order == "longest":
        jobs = longest_first(jobs, expected)
    if not expected:
        return jobs, None
    wall = schedule_wall_s((expected[job.task.id] for job in jobs), concurrency)
    return jobs, round(wall, 3)


def _stopped(stats: RunStats, error: BatchrunError | None) -> dict[str, object] | None:
    if stats.interrupted:
        return {"why": "interrupted", "message": "interrupted: run the same command again"}
    if error is not None:
        return {"why": "api_unavailable", "message": str(error)}
    if stats.halted:
        return {"why": "halted", **stats.halted}
    if stats.budget_exhausted:
        return {"why": "budget", "message": "the budget ran out: some tasks were not started"}
    return None
