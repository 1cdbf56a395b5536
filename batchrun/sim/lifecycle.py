"""A simulated run and where it stands at a given moment.

Status is never stored and no timer runs per run: a run keeps its creation time, the rule
that scripts it and (if any) when it was canceled, and `state_at` derives the status,
step count and timestamps from the clock on every read. That keeps 100,000 runs cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from batchrun.sim.scenario import Rule

# Shares of a run's `duration` spent in each phase before the (optional) pause.
_CREATED_SHARE = 0.05
_QUEUED_SHARE = 0.10
_RUNNING_HALF_SHARE = 0.425
TASK_LIKE_FINAL = ("completed", "failed", "terminated", "timed_out", "canceled")


class Run:
    """One simulated run: what was asked, when, and how the scenario scripts it."""

    __slots__ = (
        "api_key",
        "cancel_offset",
        "cancels",
        "created_mono",
        "created_wall",
        "creation_index",
        "engine",
        "num",
        "outcome",
        "phases",
        "polls",
        "request",
        "rule",
        "run_id",
        "run_type",
        "search_text",
        "seed",
        "slot_wait",
        "tags",
        "task_key",
        "time_scale",
        "webhooks_sent",
        "wr_id",
    )

    def __init__(
        self,
        *,
        num: int,
        run_id: str,
        run_type: str,
        engine: str | None,
        request: dict[str, Any],
        task_key: str,
        creation_index: int,
        rule: Rule,
        created_mono: float,
        created_wall: datetime,
        time_scale: float,
        api_key: str,
        seed: int = 0,
        wr_id: str | None = None,
        search_text: str = "",
        tags: frozenset[str] = frozenset(),
        slot_wait: float = 0.0,
    ) -> None:
        self.num = num
        self.run_id = run_id
        self.run_type = run_type
        self.engine = engine
        self.request = request  # the validated body, defaults left out (see engine.echo)
        self.task_key = task_key
        self.creation_index = creation_index
        self.rule = rule
        self.outcome = rule.outcome_for(creation_index)
        self.created_mono = created_mono
        self.created_wall = created_wall
        self.time_scale = time_scale
        self.api_key = api_key  # the submitter's key signs its webhooks, as in Skyvern
        self.seed = seed  # the seed in force at creation decides its output and file bytes
        self.wr_id = wr_id
        self.search_text = search_text
        self.tags = tags
        self.cancel_offset: float | None = None
        self.polls = 0
        self.cancels = 0
        self.webhooks_sent = 0
        # Seconds spent queued for a free account slot (see `slots`); shifts the start.
        self.slot_wait = slot_wait
        self.phases = Phases.of(self)  # fixed at creation: a new scenario never rewrites a run

    @property
    def is_workflow(self) -> bool:
        return self.run_type == "workflow_run"

    def state_at(self, now_mono: float) -> RunState:
        return self.phases.state(self, max(0.0, now_mono - self.created_mono))

    def wall(self, offset: float) -> datetime:
        return self.created_wall + timedelta(seconds=offset)


@dataclass(frozen=True, slots=True)
class Phases:
    """Offsets (seconds after creation) at which a run changes phase."""

    queued: float
    started: float
    pause_start: float
    pause_end: float
    finish: float  # the first attempt ends here
    final: float  # the run is done here (after a workflow's pending retry, if any)
    steps: int

    @classmethod
    def of(cls, run: Run) -> Phases:
        rule, scale = run.rule, run.time_scale
        duration = rule.duration * scale
        queued = _CREATED_SHARE * duration
        started = queued + _QUEUED_SHARE * duration + rule.queued * scale + run.slot_wait
        pause_start = started + _RUNNING_HALF_SHARE * duration
        pause_end = pause_start + rule.pause * scale
        finish = pause_end + _RUNNING_HALF_SHARE * duration
        retry = rule.retry_pending * scale if run.is_workflow else 0.0
        return cls(queued, started, pause_start, pause_end, finish, finish + retry, rule.steps)

    def steps_at(self, offset: float) -> int:
        running = self.finish - self.started - (self.pause_end - self.pause_start)
        if offset <= self.started or running <= 0:
            return 0 if offset < self.finish else self.steps
        done = min(offset, self.pause_start) - self.started
        if offset > self.pause_end:
            done += offset - self.pause_end
        return min(self.steps, max(1, math.ceil(self.steps * done / running)))

    def natural_state(self, run: Run, offset: float) -> RunState:
        if offset >= self.final:
            attempt = 2 if self.final > self.finish else 1
            return RunState(run.outcome, self.steps, self, self.final, attempt=attempt)
        if offset >= self.finish:  # a workflow attempt failed and a retry is scheduled
            return RunState(
                "failed", self.steps, self, self.finish, retry_pending=True, next_attempt=self.final
            )
        if offset >= self.pause_start and offset < self.pause_end:
            return RunState(
                "paused", self.steps_at(offset), self, None, last_change=self.pause_start
            )
        if offset >= self.started:
            return RunState("running", self.steps_at(offset), self, None, last_change=offset)
        if offset >= self.queued:
            return RunState("queued", 0, self, None, last_change=self.queued)
        return RunState("created", 0, self, None, last_change=0.0)

    def state(self, run: Run, offset: float) -> RunState:
        cancel = run.cancel_offset
        if cancel is None or offset < cancel:
            return self.natural_state(run, offset)
        before = self.natural_state(run, cancel)
        if before.is_final or before.retry_pending:
            # Cancelling a finished workflow keeps its status but revokes a pending retry.
            if before.retry_pending:
                return RunState("failed", self.steps, self, self.finish)
            return before
        return RunState("canceled", before.step_count, self, cancel, canceled=True)


@dataclass(frozen=True, slots=True)
class RunState:
    status: str
    step_count: int
    phases: Phases
    finished: float | None  # offset of the terminal moment, None while not terminal
    retry_pending: bool = False
    next_attempt: float | None = None
    attempt: int = 1
    canceled: bool = False
    last_change: float | None = None

    @property
    def is_final(self) -> bool:
        return self.status in TASK_LIKE_FINAL

    @property
    def is_done(self) -> bool:
        """Final and no retry pending: what a waiting client may stop on."""
        return self.is_final and not self.retry_pending

    @property
    def queued_offset(self) -> float | None:
        reached = self.finished if self.finished is not None else self.last_change
        return self.phases.queued if reached is not None and reached >= self.phases.queued else None

    @property
    def started_offset(self) -> float | None:
        reached = self.finished if self.finished is not None else self.last_change
        return (
            self.phases.started if reached is not None and reached >= self.phases.started else None
        )

    @property
    def modified_offset(self) -> float:
        if self.finished is not None:
            return self.finished
        return self.last_change or 0.0
