"""The async core of `apply`: keep `concurrency` tasks moving, each from submission (or
re-attachment) through its run's end to its outcome; retry by policy; export as tasks end.

It orchestrates parts that each do one thing: `submit_errors` (what a failed create
means), `reconcile` (finding a run whose create answer was lost), `watcher` (seeing runs
end), `budget`, `health` (the API's availability), `verdict` (what an ended run means for
its task) and `exporting`. It talks to the API only through `SkyvernClient`, to disk only
through the state store and the exporter, and reports through the event stream.
"""

from __future__ import annotations

import random
import signal
from typing import Any

import anyio

from batchrun.client import (
    AmbiguousSubmitError,
    RunResponse,
    SkyvernClient,
    SkyvernError,
    new_attempt_key,
)
from batchrun.events import EventKind, EventSink
from batchrun.halt import HaltTracker, HaltTrip
from batchrun.redaction import Redactor
from batchrun.scheduler.account_limit import AccountLimit
from batchrun.scheduler.attempt_request import attempt_bodies
from batchrun.scheduler.budget import Budget, reserved_steps
from batchrun.scheduler.canceling import cancel_in_flight
from batchrun.scheduler.emitter import Emitter
from batchrun.scheduler.exporting import ResultsExporter
from batchrun.scheduler.group_errors import primary_error
from batchrun.scheduler.health import ApiHealth
from batchrun.scheduler.options import RunStats, SchedulerOptions
from batchrun.scheduler.outcomes import Canceled, Failed, RetryLater, Succeeded, task_end
from batchrun.scheduler.push import CompletionPush
from batchrun.scheduler.reconcile import Reconciler, settle_time
from batchrun.scheduler.submit_errors import SubmitFailure, classify_submit_error
from batchrun.scheduler.throttle import Throttle, cut_message
from batchrun.scheduler.verdict import failure_reason, final_status, judge_attempt
from batchrun.scheduler.watcher import RunWatcher, creation_time
from batchrun.scheduler.work_queue import Job, WorkQueue
from batchrun.spec import BatchSpec, TaskSpec
from batchrun.state import AttemptPhase, AttemptRecord, BatchRecord, StateStore, TaskState, now_utc


class Scheduler:
    def __init__(
        self,
        spec: BatchSpec,
        batch: BatchRecord,
        store: StateStore,
        client: SkyvernClient,
        exporter: ResultsExporter,
        sink: EventSink,
        options: SchedulerOptions,
        redactor: Redactor,
        halt: HaltTracker | None = None,
        push: CompletionPush | None = None,
    ) -> None:
        self.spec = spec
        self.batch = batch
        self.store = store
        self.client = client
        self.exporter = exporter
        self.sink = sink
        self.options = options
        self.redactor = redactor
        self.halt = halt or HaltTracker(None)
        self.stats = RunStats()
        self.label = f"{spec.name}/{batch.run_key}"  # names the batch in every event
        self._emit = Emitter(store, batch.id, self.label, sink)
        self._rng = random.Random()
        self._limiter = anyio.CapacityLimiter(options.concurrency)
        self.throttle = Throttle(self._limiter, options.concurrency, on_cut=self._on_throttle_cut)
        self.health = ApiHealth(
            client.base_url, down_after_s=options.api_down_after_s, on_success=self.throttle.success
        )
        self.budget = Budget(
            store, batch.id, max_runs=spec.budget_max_runs, max_steps=spec.budget_max_steps
        )
        self.watcher = RunWatcher(client, self.health, spec.poll, rng=self._rng)
        self.account = AccountLimit(
            self.throttle,
            options.concurrency,
            # A run normally leaves the queue within seconds; two polls' worth still queued
            # is the account holding it.
            hold_s=max(2 * spec.poll.interval, 0.1),
            warn=lambda message, data: self._emit(EventKind.WARNING, message, "warning", data=data),
        )
        self.watcher.on_change = lambda: self.account.update(
            self.watcher.in_flight.values(), self.watcher.ended_spans
        )
        self.reconciler = Reconciler(client, store, batch.id, self.health, backoff=self._backoff)
        self._queue = WorkQueue(per_host=spec.per_host_concurrency)
        self._tries: dict[str, int] = {}
        self._owners: dict[str, str] = {}  # run id -> task id, for the runs in flight
        self._stopping = False
        self.push = push
        if push is not None:
            self.watcher.pushed = True  # polls and scans only as the fallback, slowly
            push.attach(
                self.watcher.wake,
                lambda message: self._emit(EventKind.WARNING, f"webhooks: {message}", "warning"),
            )

    # -- the whole invocation ----------------------------------------------------------------

    async def run(self, jobs: list[Job], tries: dict[str, int], exports: list[str]) -> RunStats:
        """Drive `jobs` (to submit or re-attach, now or later), export the ended `exports`.
        `jobs` and `tries` (attempts per task for its current request) become its own."""
        self._tries = tries
        self.stats.worked = bool(jobs or exports)
        for job in jobs:
            self._queue.add_later(job, job.delay_s) if job.delay_s else self._queue.add(job)
        jobs.clear()  # the queue holds them now; each is freed once driven
        for task_id in exports:
            self.exporter.schedule(task_id, None)
        # Transitions share transactions and attempt keys share syncs (state/grouping.py).
        with self.store.grouped_writes():
            try:
                async with anyio.create_task_group() as outer:
                    if self.options.handle_signals:
                        outer.start_soon(self._watch_signals, outer.cancel_scope)
                    outer.start_soon(self.exporter.write_tables_periodically)
                    outer.start_soon(self.watcher.scan_finished_runs)
                    if self.push is not None:
                        await outer.start(self.push.serve)
                    await self._run_workers()
                    if self.push is not None:
                        await self.push.stop()  # relays still pending get their grace
                    outer.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise primary_error(group) from None
            finally:
                with anyio.CancelScope(shield=True):
                    self.store.flush_events()
                    self.store.commit_group()
                    await self.exporter.write_tables()
                    self.exporter.finish()
        return self.stats

    async def _run_workers(self) -> None:
        async with anyio.create_task_group() as exporters:
            self.exporter.start(exporters, self.options.export_workers)
            async with anyio.create_task_group() as workers:
                for _ in range(self.options.concurrency):
                    workers.start_soon(self._worker)
            self.exporter.close()

    async def _worker(self) -> None:
        while True:
            async with self._limiter:
                job = await self._queue.take()
                if job is None:
                    return
                try:
                    await self._drive(job)
                finally:
                    self._queue.done(job)

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                self.stats.interrupted = True
                self._stopping = True
                name = signal.Signals(signum).name
                if self.options.cancel_on_interrupt:
                    self._emit(EventKind.WARNING, f"{name}: canceling runs in flight", "warning")
                    with anyio.CancelScope(shield=True), anyio.move_on_after(30):
                        await self._cancel_in_flight()
                else:
                    self._emit(
                        EventKind.WARNING,
                        f"{name}: stopping; runs in flight keep running and are re-attached "
                        "when the same command is run again",
                        "warning",
                    )
                scope.cancel()
                return

    async def _cancel_in_flight(self, reason: str = "canceled on interrupt") -> None:
        await cancel_in_flight(self.client, self.store, self._emit, self._owners, reason)

    # -- one task: re-attach or submit, watch, conclude ---------------------------------------

    async def _drive(self, job: Job) -> None:
        task = job.task
        attempt = job.open_attempt
        run: RunResponse | None = None
        if attempt is not None and attempt.phase != AttemptPhase.ACCEPTED:
            # Left open by an earlier process: why its answer was lost is not known.
            run = await self._reconcile(task, attempt, settle_s=self.options.reconcile_settle_s)
            if run is None:
                attempt = None
        if attempt is None:
            if self._stopping or self._canceled_elsewhere(task):
                return
            submitted = await self._submit(task)
            if submitted is None:
                return
            attempt, run = submitted
        elif run is None:
            assert attempt.run_id is not None
            self._emit(
                EventKind.RUN_REATTACHED,
                "re-attached to a run started before",
                task=task.id,
                attempt=attempt.number,
                run_id=attempt.run_id,
                status=attempt.status,
            )
        assert attempt is not None
        run_id = run.run_id if run is not None else attempt.run_id
        assert run_id is not None
        self._owners[run_id] = task.id
        if self.push is not None:
            spec_request = task.request_for_attempt(attempt.number)
            self.push.expect(run_id, spec_request.body.get("webhook_url"))
        try:
            result = await self.watcher.watch(
                run_id,
                run,
                created_at=creation_time(run, attempt.prepared_at),
                last_status=str(run.status) if run is not None else attempt.status,
                timeout=task.timeout,
                on_status=lambda seen: self._progress(task, attempt, seen),
                expected_s=job.expected_s,
                on_timeout=lambda: self._emit(
                    EventKind.WARNING,
                    f"attempt exceeded its timeout of {task.timeout:g}s; canceling the run",
                    "warning",
                    task=task.id,
                    attempt=attempt.number,
                    run_id=run_id,
                ),
            )
        finally:
            self._owners.pop(run_id, None)
        await self._conclude(
            task, attempt, result.run, timed_out=result.timed_out, queued_s=result.queued_s
        )

    def _progress(self, task: TaskSpec, attempt: AttemptRecord, run: RunResponse) -> None:
        status = str(run.status)
        self.store.attempt_progress(
            attempt, batch_id=self.batch.id, status=status, step_count=run.step_count
        )
        pending = " (the server will retry it)" if run.retry_pending else ""
        self._emit(
            EventKind.RUN_STATUS,
            pending,
            task=task.id,
            attempt=attempt.number,
            run_id=run.run_id,
            status=status,
            data={"step_count": run.step_count},
        )

    async def _submit(self, task: TaskSpec) -> tuple[AttemptRecord, RunResponse] | None:
        tries = self._tries.get(task.id, 0) + 1
        key = new_attempt_key()
        request, body, stored = attempt_bodies(task, tries, key)
        if self.push is not None:
            body = self.push.route(body)  # only as sent: `stored` keeps the spec's own
        reserved = reserved_steps(request.body, request.headers)
        if self._over_budget(reserved):
            return None
        await self.throttle.wait_clear()
        attempt = await self.store.begin_attempt_grouped(
            self.batch.id,
            task.id,
            attempt_key=key,
            kind=task.kind,
            request=stored,
            reserved_steps=reserved,
        )
        self._tries[task.id] = tries  # an attempt from the moment a run may exist
        try:
            if task.kind == "workflow":
                run = await self.client.run_workflow(
                    body, headers=request.headers, template=request.query.get("template") == "true"
                )
            else:
                run = await self.client.run_task(body, headers=request.headers)
        except SkyvernError as error:
            return await self._submit_failed(task, attempt, error)
        self.health.ok()
        self._accept(task, attempt, run)
        return attempt, run

    async def _submit_failed(
        self, task: TaskSpec, attempt: AttemptRecord, error: SkyvernError
    ) -> tuple[AttemptRecord, RunResponse] | None:
        verdict = classify_submit_error(error)
        match verdict.failure:
            case SubmitFailure.AMBIGUOUS:
                assert isinstance(error, AmbiguousSubmitError)
                self.store.attempt_unknown(attempt, str(error))
                self._emit(
                    EventKind.WARNING,
                    f"create request outcome unknown ({error.cause}); looking the run up before "
                    "submitting again",
                    "warning",
                    task=task.id,
                    attempt=attempt.number,
                )
                settle = settle_time(error, self.options.reconcile_settle_s)
                found = await self._reconcile(task, attempt, settle_s=settle)
                if found is None:
                    self._queue.add_later(Job(task), 0.0)
                    return None
                return attempt, found
            case SubmitFailure.THROTTLED:
                # Skyvern rate-limits run submissions per organisation: the whole batch slows
                # its submissions down. (A throttled poll is only retried by the client.)
                self.throttle.hit(verdict.retry_after)
                self._not_created(task, attempt, verdict.reason, delay=0.0)
            case SubmitFailure.FAIL_TASK:
                self._forget(task, attempt, verdict.reason, final=True)
                self._emit(EventKind.TASK_FAILED, verdict.reason, "error", task=task.id)
                await self._ended(task.id, None, "failed", verdict.reason)
            case SubmitFailure.FATAL:
                self._forget(task, attempt, verdict.reason, final=False)
                raise self.health.fatal_error(error)
            case SubmitFailure.NOT_CREATED:
                if verdict.unreachable:
                    self.health.failed(error)
                self._not_created(task, attempt, verdict.reason, delay=self._backoff(2.0))
        return None

    def _accept(self, task: TaskSpec, attempt: AttemptRecord, run: RunResponse) -> None:
        self.store.attempt_accepted(
            attempt,
            batch_id=self.batch.id,
            run_id=run.run_id,
            run_type=str(run.run_type) if run.run_type is not None else None,
            status=str(run.status),
            app_url=run.app_url,
        )
        self._emit(
            EventKind.TASK_SUBMITTED,
            f"run created ({run.run_type})",
            task=task.id,
            attempt=attempt.number,
            run_id=run.run_id,
            status=str(run.status),
        )

    def _not_created(
        self, task: TaskSpec, attempt: AttemptRecord, reason: str, *, delay: float
    ) -> None:
        """Nothing was created: put the task back, to be submitted again (it costs nothing)."""
        self._forget(task, attempt, reason, final=False)
        self._queue.add_later(Job(task), delay)

    def _forget(self, task: TaskSpec, attempt: AttemptRecord, reason: str, *, final: bool) -> None:
        """Record that an attempt created no run: it is no longer counted as an attempt."""
        self.store.attempt_not_created(attempt, batch_id=self.batch.id, reason=reason, final=final)
        self._tries[task.id] = self._tries.get(task.id, 1) - 1

    async def _reconcile(
        self, task: TaskSpec, attempt: AttemptRecord, *, settle_s: float
    ) -> RunResponse | None:
        found = await self.reconciler.find(attempt, settle_s=settle_s)
        if found is not None:
            self._emit(
                EventKind.RUN_RECONCILED,
                "found the run of an attempt whose create answer was lost",
                task=task.id,
                attempt=attempt.number,
                run_id=found.run_id,
                status=str(found.status),
            )
            self._accept(task, attempt, found)
            return found
        self._emit(
            EventKind.RUN_RECONCILED,
            "no run exists for an attempt whose create answer was lost; submitting again",
            task=task.id,
            attempt=attempt.number,
        )
        self._forget(task, attempt, "no run was created", final=False)
        return None

    async def _ended(
        self, task_id: str, run: RunResponse | None, status: str, why: str | None
    ) -> None:
        """A task ended: export it, count it against the halt policy, wait while exports lag."""
        self.exporter.schedule(task_id, run)
        self._tries.pop(task_id, None)  # an ended task is not submitted again here
        trip = self.halt.record_end(task_id, status, why)
        if trip is not None:
            await self._halt(trip)
        await self.exporter.wait_for_room()

    async def _halt(self, trip: HaltTrip) -> None:
        self.stats.halted = trip.as_dict() | {"message": trip.message}
        self._stopping = True
        self._queue.drop_pending()
        in_flight = "runs in flight are canceled" if trip.mode == "now" else "runs in flight finish"
        self._emit(
            EventKind.HALTED,
            f"{trip.message}; no new runs will start, {in_flight}",
            "error",
            data=self.stats.halted,
        )
        if trip.mode == "now":
            with anyio.CancelScope(shield=True):
                await self._cancel_in_flight("canceled: the batch halted")

    async def _conclude(
        self,
        task: TaskSpec,
        attempt: AttemptRecord,
        run: RunResponse,
        *,
        timed_out: bool,
        queued_s: float,
    ) -> None:
        status = final_status(run, timed_out=timed_out)
        tries = self._tries.get(task.id, 1)
        if status == "canceled" and self._canceled_elsewhere(task):
            outcome: Succeeded | RetryLater | Failed | Canceled = Canceled(
                "canceled by `batchrun cancel`"
            )
        else:
            outcome = judge_attempt(
                task, run, status, tries=tries, timed_out=timed_out, now=now_utc(), rng=self._rng
            )
        self.store.finish_attempt(
            attempt,
            batch_id=self.batch.id,
            status=status,
            step_count=run.step_count,
            failure_reason=failure_reason(run, status, timed_out=timed_out, timeout=task.timeout),
            response=self.redactor.value(run.model_dump(mode="json")),
            end=task_end(outcome),
            queued_s=queued_s,
        )
        common: dict[str, Any] = {
            "task": task.id,
            "attempt": attempt.number,
            "run_id": run.run_id,
            "status": status,
            # Time on the server's queue (the account's limit), apart from the run's own time.
            "data": {"queued_s": round(queued_s, 2)},
        }
        match outcome:
            case Succeeded():
                self._emit(EventKind.TASK_SUCCEEDED, "succeeded", **common)
                await self._ended(task.id, run, "succeeded", None)
            case RetryLater(next_at, reason):
                delay = max(0.0, (next_at - now_utc()).total_seconds())
                common["data"] |= {"delay_s": delay, "reason": reason}
                self._emit(
                    EventKind.RETRY_SCHEDULED,
                    f"{reason}; retrying in {delay:.1f}s",
                    "warning",
                    **common,
                )
                self._queue.add_later(Job(task), delay)
            case Failed(reason, end_status):
                self._emit(EventKind.TASK_FAILED, reason, "error", **common)
                await self._ended(task.id, run, end_status, reason)
            case Canceled(reason):
                self._emit(EventKind.TASK_CANCELED, reason, "warning", **common)
                await self._ended(task.id, run, "canceled", reason)

    def _canceled_elsewhere(self, task: TaskSpec) -> bool:
        """`batchrun cancel` ran while this apply was running: respect it."""
        return self.store.task_state(self.batch.id, task.id) == TaskState.CANCELED

    # -- budget, throttling, events ------------------------------------------------------------

    def _over_budget(self, reserved: int) -> bool:
        already = self.budget.exhausted
        usage = self.budget.allows(reserved)
        if usage is None:
            return False
        self.stats.budget_exhausted = True
        if not already:
            self._emit(
                EventKind.BUDGET_EXHAUSTED,
                f"budget reached ({usage.runs} runs, {usage.steps} steps used or reserved); "
                "no new runs will start, runs in flight finish",
                "warning",
                data={"runs": usage.runs, "steps": usage.steps},
            )
        return True

    def _backoff(self, base: float) -> float:
        return base * (1 + self._rng.random())

    def _on_throttle_cut(self, limit: int, retry_after: float | None) -> None:
        data = {"limit": limit, "retry_after": retry_after}
        self._emit(EventKind.THROTTLED, cut_message(limit, retry_after), "warning", data=data)
