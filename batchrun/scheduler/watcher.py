"""Watching runs to their end: per-run polls, one list scan for all runs in flight, wake-ups
pushed by webhook, and canceling a run that outlives its attempt's timeout.

A run's own poll backs off (interval x2 up to `max_interval`) because the finished-runs
scan spots most ends much sooner: one `GET /v1/runs` covers every run in flight, and it runs
about as often as a run is expected to end (from the durations seen so far and the number
in flight), bounded between 0.25 s and the poll interval. A webhook delivery, when `apply`
listens for them, wakes the run's watcher at once. Whatever wakes a watcher, it then reads
the run itself: the list's status is a lagging copy and a webhook is a hint, never the record.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio

from batchrun.client import (
    TERMINAL_STATUSES,
    BadRequestError,
    NotFoundError,
    RunResponse,
    SkyvernClient,
    SkyvernError,
)
from batchrun.scheduler.health import ApiHealth
from batchrun.spec import PollPolicy
from batchrun.state import now_utc

# The finished-runs scan reads at most this many pages of 100, and allows this much
# difference between our clock and the server's.
LIST_SCAN_PAGES = 5
LIST_CLOCK_SKEW = timedelta(minutes=2)
MIN_SCAN_INTERVAL_S = 0.25
# Statuses of a run that has not started working yet: time spent in them is the server's
# queue (an account at its concurrency limit), not the attempt's own time.
NOT_STARTED = frozenset({"created", "queued"})
ENDED_SPANS = 50


@dataclass
class WatchedRun:
    """What the watcher knows of one run in flight."""

    run_id: str
    created_at: datetime  # by the server's clock when known, else ours minus the skew
    waker: anyio.Event
    since: float  # when watching began (monotonic)
    started_at: datetime | None = None  # when it began working (left the queue)
    queued_seen: float = 0.0  # the last time (monotonic) it was read still not started


@dataclass(frozen=True)
class WatchResult:
    run: RunResponse
    timed_out: bool
    queued_s: float  # time the run spent queued before it started


class RunWatcher:
    def __init__(
        self,
        client: SkyvernClient,
        health: ApiHealth,
        poll: PollPolicy,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.health = health
        self.poll = poll
        self.in_flight: dict[str, WatchedRun] = {}
        self._rng = rng or random.Random()
        self._clock = clock
        self._durations: list[float] = []  # seconds from creation to end, runs seen ending
        # Called when a run in flight starts or ends, and after every scan (the account
        # limit re-evaluates from `in_flight`).
        self.on_change: Callable[[], None] = lambda: None
        # With webhooks pushing run ends, polls and scans are only the fallback: slow.
        self.pushed = False
        # (started, finished) by the server's clock of the runs seen ending last: how many
        # the account really ran at once, free of our polls' lag.
        self.ended_spans: deque[tuple[datetime, datetime]] = deque(maxlen=ENDED_SPANS)

    # -- wake-ups ------------------------------------------------------------------------

    def wake(self, run_id: str) -> None:
        """Something says this run may have ended (the list scan, a webhook): read it now."""
        watched = self.in_flight.get(run_id)
        if watched is not None:
            watched.waker.set()

    def scan_interval(self) -> float:
        """About the time between two run ends, from what has been seen so far."""
        if self.pushed:
            return self.poll.max_interval  # webhooks tell of ends; the scan is the fallback
        if not self._durations or not self.in_flight:
            return max(MIN_SCAN_INTERVAL_S, self.poll.interval / 2)
        recent = self._durations[-50:]
        expected_gap = (sum(recent) / len(recent)) / len(self.in_flight)
        return min(self.poll.interval, max(MIN_SCAN_INTERVAL_S, expected_gap))

    async def scan_finished_runs(self) -> None:
        """Forever: one list request wakes the watchers of the runs that have ended.

        The list holds runs newest first, so it is read page by page until it reaches runs
        created before the oldest one in flight (a long run started early ends late, behind
        many newer ones). A run the list misses is still found by its own, slower, polls.
        """
        while True:
            await anyio.sleep(self.scan_interval())
            self.on_change()  # runs held in the queue age between reads
            if not self.in_flight:
                continue  # (with one run in flight the scan costs what its poll would)
            oldest = min(run.created_at for run in self.in_flight.values())
            try:
                for page in range(1, LIST_SCAN_PAGES + 1):
                    items = await self.client.list_runs(
                        status=sorted(TERMINAL_STATUSES), page=page, page_size=100
                    )
                    for item in items:
                        if not item.retry_pending:
                            self.wake(item.run_id)
                    if len(items) < 100 or any(
                        item.created_at is not None and item.created_at < oldest for item in items
                    ):
                        break
            except SkyvernError as error:
                self.health.failed(error)
                continue
            self.health.ok()

    # -- one run ---------------------------------------------------------------------------

    async def watch(
        self,
        run_id: str,
        run: RunResponse | None,
        *,
        created_at: datetime,
        last_status: str | None,
        timeout: float | None,
        on_status: Callable[[RunResponse], None],
        on_timeout: Callable[[], None],
        expected_s: float | None = None,
    ) -> WatchResult:
        """Poll a run to its end; cancel it remotely if it outlives `timeout` seconds of
        running (time spent queued on the server does not count). `expected_s`, how long
        the task took before, places the first poll where the run should have ended."""
        watched = WatchedRun(run_id, created_at, anyio.Event(), since=self._clock())
        watched.queued_seen = watched.since
        self.in_flight[run_id] = watched
        try:
            return await self._watch(
                watched, run, last_status, timeout, on_status, on_timeout, expected_s
            )
        finally:
            self.in_flight.pop(run_id, None)
            self.on_change()

    async def _watch(
        self,
        watched: WatchedRun,
        run: RunResponse | None,
        status: str | None,
        timeout: float | None,
        on_status: Callable[[RunResponse], None],
        on_timeout: Callable[[], None],
        expected_s: float | None,
    ) -> WatchResult:
        interval = self.poll.max_interval if self.pushed else self.poll.interval
        # The first poll at the end history expects: one read that most often finds it ended.
        first_delay = expected_s if expected_s is not None and not self.pushed else None
        while True:
            if run is not None:
                self._note(watched, run)
                if run.is_final:
                    self._durations.append(_age(watched.created_at, run))
                    if run.started_at is not None and run.finished_at is not None:
                        self.ended_spans.append((run.started_at, run.finished_at))
                    return WatchResult(run, False, _queued_s(watched, run))
                if str(run.status) != status:
                    status = str(run.status)
                    on_status(run)
            remaining = _remaining(watched, timeout)
            if remaining is not None and remaining <= 0:
                on_timeout()
                final = await self._cancel_for_timeout(watched.run_id)
                return WatchResult(final, True, _queued_s(watched, final))
            delay = interval * (1 + self._rng.uniform(-0.1, 0.1))
            if first_delay is not None:
                delay, first_delay = max(0.05, first_delay), None
            if remaining is not None:
                delay = min(delay, max(0.05, remaining))
            with anyio.move_on_after(delay):
                await watched.waker.wait()
            if watched.waker.is_set():
                watched.waker = anyio.Event()
            # Backing off is safe: the list scan (or a webhook) spots a finished run sooner.
            interval = min(interval * 2, self.poll.max_interval)
            run = await self.read(watched.run_id)

    def _note(self, watched: WatchedRun, run: RunResponse) -> None:
        if run.created_at is not None:
            watched.created_at = run.created_at
        if watched.started_at is not None:
            return
        if str(run.status) in NOT_STARTED:
            watched.queued_seen = self._clock()
            return
        now = now_utc()
        watched.started_at = min(run.started_at, now) if run.started_at else now
        self.on_change()

    async def read(self, run_id: str) -> RunResponse | None:
        """One read of the run; a transient failure is a skipped read (None), a run the
        server no longer knows is a failed attempt (the retry policy decides what next)."""
        try:
            run = await self.client.get_run(run_id)
        except NotFoundError:
            now = now_utc()
            return RunResponse(
                run_id=run_id,
                run_type="unknown",
                status="failed",
                failure_reason=f"the server no longer knows run {run_id}",
                created_at=now,
                modified_at=now,
            )
        except SkyvernError as error:
            self.health.failed(error)
            return None
        self.health.ok()
        return run

    async def _cancel_for_timeout(self, run_id: str) -> RunResponse:
        try:
            await self.client.cancel_run(run_id)
        except BadRequestError:
            pass  # it finished meanwhile: the final read below tells how
        except SkyvernError as error:
            self.health.failed(error)
        for _ in range(10):
            run = await self.read(run_id)
            if run is not None and run.is_final:
                return run
            await anyio.sleep(self.poll.interval)
        run = await self.read(run_id)
        if run is None:
            raise self.health.fatal_message(f"lost contact with the API while canceling {run_id}")
        return run


def creation_time(run: RunResponse | None, prepared_at: datetime) -> datetime:
    """When a run was created, by the server's clock if we have it (else by ours, with room
    for skew): how far back the finished-runs scan must read."""
    if run is not None and run.created_at is not None:
        return run.created_at
    return prepared_at - LIST_CLOCK_SKEW


def _remaining(watched: WatchedRun, timeout: float | None) -> float | None:
    if timeout is None or watched.started_at is None:
        return None  # not started: a queued run is not using its attempt's time
    return timeout - (now_utc() - watched.started_at).total_seconds()


def _age(created_at: datetime, run: RunResponse) -> float:
    end = run.finished_at or now_utc()
    return max(0.0, (end - created_at).total_seconds())


def _queued_s(watched: WatchedRun, run: RunResponse) -> float:
    started = run.started_at or watched.started_at
    created = run.created_at or watched.created_at
    if started is None or created is None:
        return 0.0
    return max(0.0, (started - created).total_seconds())
