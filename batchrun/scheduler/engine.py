"""The async engine of `apply`: submit, poll, retry, time out, re-attach, export.

It talks to the API only through `SkyvernClient`, to disk only through the state store and
the results directory, and reports through the event stream. No SQL, no HTTP details.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio

from batchrun.client import (
    AmbiguousSubmitError,
    AuthError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    RunResponse,
    ServerBusyError,
    SkyvernClient,
    SkyvernError,
    TransportError,
    new_attempt_key,
    tag_request,
)
from batchrun.errors import ApiUnavailableError
from batchrun.events import BatchEvent, EventKind, EventSink, Level
from batchrun.scheduler.exporting import ResultsExporter
from batchrun.scheduler.throttle import Throttle
from batchrun.scheduler.verdict import (
    TERMINAL_STATUSES,
    failure_reason,
    final_status,
    judge_attempt,
)
from batchrun.scheduler.work_queue import Job, WorkQueue
from batchrun.spec import BatchSpec, TaskSpec
from batchrun.state import (
    AttemptPhase,
    AttemptRecord,
    BatchRecord,
    Canceled,
    Failed,
    RetryLater,
    StateStore,
    Succeeded,
    TaskOutcome,
    TaskState,
    now_utc,
)

# The finished-runs scan reads at most this many pages of 100, and allows this much
# difference between our clock and the server's.
LIST_SCAN_PAGES = 5
LIST_CLOCK_SKEW = timedelta(minutes=2)

# Skyvern's default step cap when a request names none (skyvern-api.md §4): what a run may
# cost, reserved against the budget until its real step count is known.
DEFAULT_MAX_STEPS = 10


@dataclass(frozen=True)
class ApplyOptions:
    concurrency: int
    only: frozenset[str] | None = None  # the ids of the tasks to run; None: all of them
    cancel_on_interrupt: bool = False
    # An ambiguous create that timed out (or was left open by a crash) is looked up again
    # until this long after it was sent: a create the server is still working on is not
    # listed yet. After a dropped connection or an error status the server is done with it.
    reconcile_settle_s: float = 20.0
    # With no successful API call for this long, stop (exit 3) and leave the batch resumable.
    api_down_after_s: float = 300.0
    export_workers: int = 4
    handle_signals: bool = True


@dataclass
class ApplyStats:
    retries: int = 0
    budget_exhausted: bool = False
    interrupted: bool = False
    fatal: ApiUnavailableError | None = None


class Scheduler:
    def __init__(
        self,
        spec: BatchSpec,
        batch: BatchRecord,
        store: StateStore,
        client: SkyvernClient,
        exporter: ResultsExporter,
        sink: EventSink,
        options: ApplyOptions,
    ) -> None:
        self.spec = spec
        self.batch = batch
        self.store = store
        self.client = client
        self.exporter = exporter
        self.sink = sink
        self.options = options
        self.stats = ApplyStats()
        self._limiter = anyio.CapacityLimiter(options.concurrency)
        self.throttle = Throttle(self._limiter, options.concurrency, on_cut=self._on_throttle_cut)
        self._queue = WorkQueue(per_host=spec.per_host_concurrency)
        self._tries: dict[str, int] = {}
        self._in_flight: dict[str, str] = {}  # run id -> task id
        self._in_flight_since: dict[str, datetime] = {}  # run id -> when its create was sent
        self._wakers: dict[str, anyio.Event] = {}  # run id -> set when the run may have ended
        self._last_api_ok = time.monotonic()
        self._rng = random.Random()
        self._stopping = False
        self.label = f"{spec.name}/{batch.run_key}"  # names the batch in every event

    # -- the whole batch ---------------------------------------------------------------------

    def selected_tasks(self) -> list[TaskSpec]:
        if self.options.only is None:
            return list(self.spec.tasks)
        return [task for task in self.spec.tasks if task.id in self.options.only]

    async def run(self) -> ApplyStats:
        tasks = self.selected_tasks()
        self.store.start_round(self.batch.id, tasks)
        self.exporter.remove_leftovers()
        to_run, to_export = self._plan_jobs(tasks)
        if to_run or to_export:
            # A batch already done needs no API: cron re-running it exits 0 even if it is down.
            await self._preflight()
        self._emit(
            EventKind.BATCH_STARTED,
            f"{len(tasks)} tasks, {to_run} to run, concurrency {self.options.concurrency}",
            data={
                "total": len(tasks),
                "to_run": to_run,
                "skipped": len(tasks) - to_run,
                "concurrency": self.options.concurrency,
                "run_key": self.batch.run_key,
            },
        )
        try:
            async with anyio.create_task_group() as outer:
                if self.options.handle_signals:
                    outer.start_soon(self._watch_signals, outer.cancel_scope)
                outer.start_soon(self.exporter.write_tables_periodically)
                outer.start_soon(self._spot_finished_runs)
                await self._run_workers()
                outer.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._finish()
        return self.stats

    async def _preflight(self) -> None:
        """One cheap call before anything is paid for: is the API there, is the key good?"""
        try:
            await self.client.check_access()
        except AuthError as exc:
            raise ApiUnavailableError(
                f"the API at {self.client.base_url} rejected the API key: {exc.detail}"
            ) from None
        except SkyvernError as exc:
            raise ApiUnavailableError(
                f"cannot reach the API at {self.client.base_url}: {exc}"
            ) from None

    def _plan_jobs(self, tasks: Sequence[TaskSpec]) -> tuple[int, int]:
        """Queue the tasks that still need a run; schedule finished ones not yet exported.

        Returns how many were queued to run and how many to export.
        """
        rows = self.store.scheduling_rows(self.batch.id)
        by_id = {task.id: task for task in tasks}
        open_attempts: dict[str, AttemptRecord] = {}
        for attempt in self.store.open_attempts(self.batch.id):
            if attempt.task_id in by_id:
                open_attempts[attempt.task_id] = attempt
        now = now_utc()
        count = exports = 0
        for task in tasks:
            row = rows[task.id]
            self._tries[task.id] = row.tries_this_round
            if task.id in open_attempts:
                self._queue.add(Job(task, open_attempts[task.id]))
            elif row.state in (TaskState.PENDING, TaskState.SUBMITTING, TaskState.RUNNING):
                self._queue.add(Job(task))
            elif row.state == TaskState.RETRY_WAIT:
                due = row.next_attempt_at or now
                self._queue.add_later(Job(task), (due - now).total_seconds())
            else:
                if not row.exported:
                    self.exporter.schedule(task, None)
                    exports += 1
                continue
            count += 1
        return count, exports

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

    async def _cancel_in_flight(self) -> None:
        runs = dict(self._in_flight)
        if not runs:
            return
        try:
            result = await self.client.bulk_cancel_runs(list(runs))
        except SkyvernError as exc:
            self._emit(EventKind.WARNING, f"could not cancel runs in flight: {exc}", "warning")
            return
        for run_id in result.cancelled:
            task_id = runs[run_id]
            self.store.cancel_task(self.batch.id, task_id, "canceled on interrupt")
            self._emit(
                EventKind.TASK_CANCELED, "canceled on interrupt", task=task_id, run_id=run_id
            )

    async def _finish(self) -> None:
        self.store.flush_events()
        await self.exporter.write_tables()
        if not self.stats.interrupted and self.stats.fatal is None:
            counts = self.store.count_by_state(self.batch.id)
            unfinished = sum(
                n for state, n in counts.items() if state not in ("succeeded", "failed", "canceled")
            )
            self.store.mark_batch(self.batch.id, finished=unfinished == 0)

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
        self._in_flight[run_id] = task.id
        self._note_created(run_id, run, attempt)
        try:
            final, timed_out = await self._watch(task, attempt, run_id, run)
        finally:
            self._in_flight.pop(run_id, None)
            self._in_flight_since.pop(run_id, None)
            self._wakers.pop(run_id, None)
        self._conclude(task, attempt, final, timed_out=timed_out)

    async def _submit(self, task: TaskSpec) -> tuple[AttemptRecord, RunResponse] | None:
        tries = self._tries[task.id] + 1
        request = task.request_for_attempt(tries)
        redacted = task.request_for_attempt(tries, redacted=True)
        key = new_attempt_key()
        body = tag_request(request.body, kind=task.kind, key=key, label=task.id)
        stored = tag_request(redacted.body, kind=task.kind, key=key, label=task.id)
        reserved = _reserved_steps(request.body, request.headers)
        if not self._budget_allows(reserved):
            return None
        await self.throttle.wait_clear()
        attempt = self.store.begin_attempt(
            self.batch.id,
            task.id,
            attempt_key=key,
            kind=task.kind,
            request=stored,
            reserved_steps=reserved,
        )
        self._tries[task.id] += 1  # a try from the moment a run may exist, as the state counts
        try:
            if task.kind == "workflow":
                run = await self.client.run_workflow(
                    body, headers=request.headers, template=request.query.get("template") == "true"
                )
            else:
                run = await self.client.run_task(body, headers=request.headers)
        except AmbiguousSubmitError as exc:
            self.store.attempt_unknown(attempt, str(exc))
            self._emit(
                EventKind.WARNING,
                f"create request outcome unknown ({exc.cause}); looking the run up before "
                "submitting again",
                "warning",
                task=task.id,
                attempt=attempt.number,
            )
            found = await self._reconcile(task, attempt, settle_s=_settle_time(exc, self.options))
            if found is None:
                self._queue.add_later(Job(task), 0.0)
                return None
            return attempt, found
        except (RateLimitedError, ServerBusyError) as exc:
            # Skyvern rate-limits run submissions per organisation: the whole batch slows its
            # submissions down. (A throttled poll is only retried by the client: polls are not
            # what the limit counts.)
            self.throttle.hit(exc.retry_after)
            self._not_created(task, attempt, f"server busy ({exc.status_code})", delay=0.0)
            return None
        except TransportError as exc:
            self._api_failed(exc)
            self._not_created(task, attempt, f"API unreachable: {exc}", delay=self._backoff(2.0))
            return None
        except AuthError as exc:
            if not _about_credentials(exc):
                # The key passed the access check: this 403 refuses this request (an
                # enterprise-gated engine or model), not the batch.
                reason = f"the API refused the request ({exc.status_code}): {exc.detail}"
                self._forget(task, attempt, reason, final=True)
                self._emit(EventKind.TASK_FAILED, reason, "error", task=task.id)
                self.exporter.schedule(task, None)
                return None
            self._forget(task, attempt, str(exc), final=False)
            raise self._fatal(f"the API rejected the API key: {exc.detail}") from None
        except (BadRequestError, NotFoundError, ConflictError) as exc:
            reason = f"the API refused the request ({exc.status_code}): {exc.detail}"
            self._forget(task, attempt, reason, final=True)
            self._emit(EventKind.TASK_FAILED, reason, "error", task=task.id)
            self.exporter.schedule(task, None)
            return None
        except SkyvernError as exc:  # any other answer that proves nothing was created
            self._not_created(task, attempt, str(exc), delay=self._backoff(2.0))
            return None
        self._api_ok()
        self._accept(task, attempt, run)
        return attempt, run

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
        """Nothing was created: put the task back, to be submitted again (it costs no try)."""
        self._forget(task, attempt, reason, final=False)
        self._queue.add_later(Job(task), delay)

    def _forget(self, task: TaskSpec, attempt: AttemptRecord, reason: str, *, final: bool) -> None:
        """Record that an attempt created no run: it is no longer counted as a try."""
        self.store.attempt_not_created(attempt, batch_id=self.batch.id, reason=reason, final=final)
        self._tries[task.id] -= 1

    async def _reconcile(
        self, task: TaskSpec, attempt: AttemptRecord, *, settle_s: float
    ) -> RunResponse | None:
        """Find the run an attempt may have created, so that it is never paid for twice.

        The lookup is repeated until `settle_s` after the attempt was sent: a create request
        the server is still working on is not listed yet. None means no run exists; the
        attempt is then recorded as not created and the caller may submit again.
        """
        deadline = attempt.prepared_at + timedelta(seconds=settle_s)
        while True:
            try:
                found = await self.client.find_attempt_run(
                    kind=attempt.kind,
                    body=attempt.request,
                    key=attempt.attempt_key,
                    sent_at=attempt.prepared_at,
                    exclude_run_ids=self.store.known_run_ids(self.batch.id),
                )
            except AuthError as exc:
                raise self._fatal(f"the API rejected the API key: {exc.detail}") from None
            except SkyvernError as exc:
                self._api_failed(exc)
                await anyio.sleep(self._backoff(2.0))
                continue
            self._api_ok()
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
            remaining = (deadline - now_utc()).total_seconds()
            if remaining <= 0:
                self._emit(
                    EventKind.RUN_RECONCILED,
                    "no run exists for an attempt whose create answer was lost; submitting again",
                    task=task.id,
                    attempt=attempt.number,
                )
                self._forget(task, attempt, "no run was created", final=False)
                return None
            await anyio.sleep(min(2.0, remaining))

    async def _watch(
        self, task: TaskSpec, attempt: AttemptRecord, run_id: str, run: RunResponse | None
    ) -> tuple[RunResponse, bool]:
        """Poll a run to its end; cancel it remotely if it outlives the attempt timeout."""
        poll = self.spec.poll
        interval = poll.interval
        started = time.monotonic()
        if attempt.accepted_at is not None:
            started -= max(0.0, (now_utc() - attempt.accepted_at).total_seconds())
        # What the state already holds: the create answer's status, or the last one polled.
        status = str(run.status) if run is not None else attempt.status
        while True:
            if run is not None:
                if run.is_final:
                    return run, False  # the final status is recorded with the outcome
                if str(run.status) != status:
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
                        run_id=run_id,
                        status=status,
                        data={"step_count": run.step_count},
                    )
            if task.timeout is not None and time.monotonic() - started > task.timeout:
                return await self._cancel_for_timeout(task, attempt, run_id), True
            delay = interval * (1 + self._rng.uniform(-0.1, 0.1))
            if task.timeout is not None:
                delay = min(delay, max(0.05, task.timeout - (time.monotonic() - started)))
            waker = self._wakers.setdefault(run_id, anyio.Event())
            with anyio.move_on_after(delay):
                await waker.wait()
            if waker.is_set():
                self._wakers[run_id] = anyio.Event()
            # Backing off is safe: the list scan below spots a finished run much sooner.
            interval = min(interval * 1.5, poll.max_interval)
            run = await self._get_run(run_id)
            self._note_created(run_id, run, attempt)

    def _note_created(self, run_id: str, run: RunResponse | None, attempt: AttemptRecord) -> None:
        """When the run was created, by the server's clock if we have it (else by ours, with
        room for skew): how far back the finished-runs scan must read."""
        if run is not None and run.created_at is not None:
            self._in_flight_since[run_id] = run.created_at
        elif run_id not in self._in_flight_since:
            self._in_flight_since[run_id] = attempt.prepared_at - LIST_CLOCK_SKEW

    async def _spot_finished_runs(self) -> None:
        """One list request covers many runs: wake the watchers of those that have ended.

        The list holds finished runs newest first, so it is read page by page until it
        reaches runs created before the oldest one in flight (a long run started early ends
        late, behind many newer ones). Its status is a lagging copy: it only wakes a
        watcher, which then reads the run itself; a run the list misses is still found by
        its own, slower, polling.
        """
        interval = max(0.25, self.spec.poll.interval / 2)
        while True:
            await anyio.sleep(interval)
            if len(self._in_flight) < 2:
                continue
            oldest = min(self._in_flight_since.values())
            try:
                for page in range(1, LIST_SCAN_PAGES + 1):
                    items = await self.client.list_runs(
                        status=TERMINAL_STATUSES, page=page, page_size=100
                    )
                    for item in items:
                        waker = self._wakers.get(item.run_id)
                        if waker is not None and not getattr(item, "retry_pending", False):
                            waker.set()
                    if len(items) < 100 or any(
                        item.created_at is not None and item.created_at < oldest for item in items
                    ):
                        break
            except AuthError as exc:
                raise self._fatal(f"the API rejected the API key: {exc.detail}") from None
            except SkyvernError:
                continue

    async def _get_run(self, run_id: str) -> RunResponse | None:
        try:
            return await self._poll_run(run_id)
        except NotFoundError:
            # The server no longer knows the run (deleted, or another account's key): that
            # attempt is over, and failed; the retry policy decides what comes next.
            now = now_utc()
            return RunResponse(
                run_id=run_id,
                run_type="unknown",
                status="failed",
                failure_reason=f"the server no longer knows run {run_id}",
                created_at=now,
                modified_at=now,
            )

    async def _poll_run(self, run_id: str) -> RunResponse | None:
        """One poll; a transient failure is a skipped poll, not a failed task.

        Polls do not wait for the throttle's pause: Skyvern rate-limits run submissions, and
        the client already backs off a throttled GET on its own.
        """
        try:
            run = await self.client.get_run(run_id)
        except AuthError as exc:
            raise self._fatal(f"the API rejected the API key: {exc.detail}") from None
        except NotFoundError:
            raise
        except SkyvernError as exc:
            self._api_failed(exc)
            return None
        self._api_ok()
        return run

    async def _cancel_for_timeout(
        self, task: TaskSpec, attempt: AttemptRecord, run_id: str
    ) -> RunResponse:
        self._emit(
            EventKind.WARNING,
            f"attempt exceeded its timeout of {task.timeout:g}s; canceling the run",
            "warning",
            task=task.id,
            attempt=attempt.number,
            run_id=run_id,
        )
        try:
            await self.client.cancel_run(run_id)
        except BadRequestError:
            pass  # it finished meanwhile: the final read below tells how
        except SkyvernError as exc:
            self._emit(EventKind.WARNING, f"cancel failed: {exc}", "warning", task=task.id)
        for _ in range(10):
            run = await self._get_run(run_id)
            if run is not None and run.is_final:
                return run
            await anyio.sleep(self.spec.poll.interval)
        run = await self._get_run(run_id)
        if run is None:
            raise self._fatal(f"lost contact with the API while canceling run {run_id}")
        return run

    def _conclude(
        self, task: TaskSpec, attempt: AttemptRecord, run: RunResponse, *, timed_out: bool
    ) -> None:
        status = final_status(run, timed_out=timed_out)
        if status == "canceled" and self._canceled_elsewhere(task):
            outcome: TaskOutcome = Canceled("canceled by `batchrun cancel`")
        else:
            outcome = judge_attempt(
                task,
                run,
                status,
                tries=self._tries[task.id],
                timed_out=timed_out,
                now=now_utc(),
                rng=self._rng,
            )
        response = self.exporter.scrub(run.model_dump(mode="json"))
        self.store.finish_attempt(
            attempt,
            batch_id=self.batch.id,
            status=status,
            step_count=run.step_count,
            failure_reason=failure_reason(run, status, timed_out=timed_out, timeout=task.timeout),
            response=response,
            outcome=outcome,
        )
        common = {
            "task": task.id,
            "attempt": attempt.number,
            "run_id": run.run_id,
            "status": status,
        }
        match outcome:
            case Succeeded():
                self._emit(EventKind.TASK_SUCCEEDED, "succeeded", **common)
                self.exporter.schedule(task, run)
            case RetryLater(next_at, reason):
                self.stats.retries += 1
                delay = max(0.0, (next_at - now_utc()).total_seconds())
                self._emit(
                    EventKind.RETRY_SCHEDULED,
                    f"{reason}; retrying in {delay:.1f}s",
                    "warning",
                    data={"delay_s": delay, "reason": reason},
                    **common,
                )
                self._queue.add_later(Job(task), delay)
            case Failed(reason):
                self._emit(EventKind.TASK_FAILED, reason, "error", **common)
                self.exporter.schedule(task, run)
            case Canceled(reason):
                self._emit(EventKind.TASK_CANCELED, reason, "warning", **common)
                self.exporter.schedule(task, run)

    def _canceled_elsewhere(self, task: TaskSpec) -> bool:
        """`batchrun cancel` ran while this apply was running: respect it."""
        return self.store.task_state(self.batch.id, task.id) == TaskState.CANCELED

    # -- budget, API health, events ----------------------------------------------------------

    def _budget_allows(self, reserved_steps: int) -> bool:
        if self.stats.budget_exhausted:
            return False
        max_runs, max_steps = self.spec.budget_max_runs, self.spec.budget_max_steps
        if max_runs is None and max_steps is None:
            return True
        usage = self.store.usage(self.batch.id)
        if (max_runs is not None and usage.runs + 1 > max_runs) or (
            max_steps is not None and usage.steps + reserved_steps > max_steps
        ):
            self.stats.budget_exhausted = True
            self._emit(
                EventKind.BUDGET_EXHAUSTED,
                f"budget reached ({usage.runs} runs, {usage.steps} steps used or reserved); "
                "no new runs will start, runs in flight finish",
                "warning",
                data={"runs": usage.runs, "steps": usage.steps},
            )
            return False
        return True

    def _api_ok(self) -> None:
        self._last_api_ok = time.monotonic()
        self.throttle.success()

    def _api_failed(self, exc: Exception) -> None:
        if time.monotonic() - self._last_api_ok > self.options.api_down_after_s:
            raise self._fatal(
                f"no successful API call for {self.options.api_down_after_s:g}s (last error: {exc})"
            )

    def _fatal(self, message: str) -> ApiUnavailableError:
        error = ApiUnavailableError(message + "; run the same command again to resume")
        self.stats.fatal = error
        return error

    def _backoff(self, base: float) -> float:
        return base * (1 + self._rng.random())

    def _on_throttle_cut(self, limit: int, retry_after: float | None) -> None:
        hint = f", Retry-After {retry_after:g}s" if retry_after is not None else ""
        self._emit(
            EventKind.THROTTLED,
            f"the API is throttling us{hint}; runs in flight capped at {limit}",
            "warning",
            data={"limit": limit, "retry_after": retry_after},
        )

    def _emit(
        self,
        kind: EventKind,
        message: str = "",
        level: Level = "info",
        *,
        task: str | None = None,
        attempt: int | None = None,
        run_id: str | None = None,
        status: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        event = BatchEvent(
            kind,
            self.label,
            message,
            level,
            task=task,
            attempt=attempt,
            run_id=run_id,
            status=status,
            data=data or {},
        )
        self.store.add_event(self.batch.id, event)
        self.sink.emit(event)


def _about_credentials(error: AuthError) -> bool:
    """Whether a 403 is about the key (skyvern-api.md §2's messages) rather than about what
    was asked for."""
    detail = error.detail.lower()
    return any(word in detail for word in ("credential", "api key", "token", "expired"))


def _settle_time(error: AmbiguousSubmitError, options: ApplyOptions) -> float:
    """How long a lost create answer may leave its run unlisted."""
    cause = error.cause
    if isinstance(cause, TransportError) and cause.timed_out:
        return options.reconcile_settle_s  # the server may still be creating it
    return min(2.0, options.reconcile_settle_s)  # it answered or hung up: it is done


def _reserved_steps(body: dict[str, Any], headers: dict[str, str]) -> int:
    steps = body.get("max_steps") or headers.get("x-max-steps-override")
    try:
        return int(steps) if steps is not None else DEFAULT_MAX_STEPS
    except ValueError:
        return DEFAULT_MAX_STEPS
