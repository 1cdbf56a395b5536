"""Noticing that the account, not the batch, limits how many runs work at once.

A Skyvern Cloud plan runs at most N runs at a time; further runs are not refused but stay
`queued` (docs/skyvern-api.md §4). Submitting more than N then buys nothing: the extra runs
only wait on the server, where a budget can no longer hold them back, the longest-first order
no longer applies and `--cancel-on-interrupt` has more to cancel. So once runs are seen held
in the queue, the runs in flight are capped at the most seen running at once plus a small
margin (so a slot freed on the server is refilled from its own queue at once), re-evaluated
as runs start and end. "Running at once" is read from the server's start and finish times
of the runs seen ending, not from our polls, which see a start or an end late. The cap is a
ceiling on the throttle's window, never a change to it, so the two do not fight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from batchrun.scheduler.throttle import Throttle
from batchrun.scheduler.watcher import WatchedRun

# Runs queued on the server beyond the ones running: enough that a freed slot has a run
# waiting for it, few enough that ordering, budgets and cancels keep their meaning.
MARGIN = 2
# A queued run takes the slot a run frees at the instant it ends; timestamps rounded on the
# server can make the two overlap by a hair, which must not count as both running.
HANDOFF = timedelta(milliseconds=10)


class AccountLimit:
    def __init__(
        self,
        throttle: Throttle,
        concurrency: int,
        *,
        hold_s: float,
        warn: Callable[[str, dict[str, Any]], None],
        margin: int = MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._throttle = throttle
        self._concurrency = concurrency
        self._hold_s = hold_s  # queued longer than this (as last seen): held by the account
        self._margin = margin
        self._warn = warn
        self._clock = clock
        self.peak_running: int | None = None  # the account's limit, as observed; None: free
        self.ceiling: int | None = None
        self._announced = 0  # the highest ceiling the user was told about

    @property
    def limited(self) -> bool:
        return self.peak_running is not None

    def update(
        self, runs: Iterable[WatchedRun], ended: Iterable[tuple[datetime, datetime]]
    ) -> None:
        """Re-evaluate from what the watcher knows of the runs in flight and of the
        (started, finished) times of the runs seen ending last."""
        running = held = 0
        for run in runs:
            if run.waker.is_set():
                continue  # something says it ended: its slot is free on the server
            if run.started_at is not None:
                running += 1
            elif run.queued_seen - run.since >= self._hold_s:
                held += 1
        if self.peak_running is None and held < self._margin:
            return  # held runs fewer than the margin: a cap would change nothing
        spans = list(ended)
        overlap = most_at_once(spans)
        if len(spans) > 2 * self._margin:
            self.peak_running = overlap
        elif self.peak_running is None:
            # Until a few runs have ended, the runs seen started when the hold began are the
            # evidence; not counted again later, when a run that ended unseen would count.
            self.peak_running = max(running, overlap)
        ceiling = max(1, self.peak_running) + self._margin
        if ceiling >= self._concurrency:
            # The account runs (nearly) all the batch asks for: no cap any more.
            if self.ceiling is not None:
                self._warn(
                    f"the account now runs {self.peak_running} or more at once; "
                    "no longer holding runs back",
                    {"account_running": self.peak_running, "in_flight_limit": None},
                )
            self.peak_running = self.ceiling = None
            self._announced = 0
            self._throttle.set_ceiling(None)
            return
        if ceiling != self.ceiling:
            announced = self._announced
            self.ceiling = ceiling
            self._throttle.set_ceiling(ceiling)
            if ceiling <= announced:
                return  # said already (or a lower estimate): no news for the user
            self._announced = ceiling
            self._warn(
                f"the account runs at most {self.peak_running} at once (the rest wait queued "
                f"on the server); holding {ceiling} in flight",
                {"account_running": self.peak_running, "in_flight_limit": ceiling},
            )


def most_at_once(spans: Iterable[tuple[datetime, datetime]]) -> int:
    """The most spans open at one instant (a span ending as another starts is not both)."""
    points = sorted(
        (t, step) for start, end in spans for t, step in ((start, 1), (end - HANDOFF, -1))
    )
    now = peak = 0
    for _, step in points:
        now += step
        peak = max(peak, now)
    return peak
