"""The halt policy: stop a batch early when too many of its tasks fail.

A nightly batch whose target site changed overnight fails every task the same way; without a
halt it spends the whole budget learning that. `HaltTracker` watches the tasks as they end
and says when the spec's limit is reached; the scheduler then stops submitting (mode "soon":
running tasks finish) or also cancels the running ones (mode "now").

    tracker = HaltTracker(spec.halt)
    tracker.resume(ended_in_earlier_invocations)      # a resumed batch counts them too
    trip = tracker.record_end("kettle-01", "failed", "Checkout button not found")
    if trip:
        ...  # stop, and put trip.as_dict() into summary.json

Pure: no I/O, no clock; the caller decides what a task's end status is.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from batchrun.errors import UsageError

HaltMode = Literal["soon", "now"]
HALT_MODES: tuple[HaltMode, ...] = ("soon", "now")

# The end statuses a task can have other than "succeeded"; `on` picks those that count as a
# failure. Canceled is left out by default: a task canceled by `batchrun cancel` or by a
# "now" halt says nothing about the site.
FAILURE_STATUSES = frozenset({"failed", "terminated", "timed_out", "invalid_output", "canceled"})
DEFAULT_ON = FAILURE_STATUSES - {"canceled"}
SUCCEEDED = "succeeded"
# Below this many ended tasks a failure rate is noise (2 of the first 3 is 67%).
DEFAULT_MIN_ENDED = 10
REASON_MAX_CHARS = 80
TOP_REASONS = 3


class HaltPolicy(Protocol):
    """What the spec's `halt:` section provides (read-only, so frozen models conform)."""

    @property
    def max_failures(self) -> int | None: ...
    @property
    def max_failure_rate(self) -> float | None: ...
    @property
    def min_ended(self) -> int: ...
    @property
    def on(self) -> frozenset[str]: ...
    @property
    def mode(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HaltPolicyValue:
    """A halt policy after the command line's overrides; validated on construction."""

    max_failures: int | None = None
    max_failure_rate: float | None = None
    min_ended: int = DEFAULT_MIN_ENDED
    on: frozenset[str] = DEFAULT_ON
    mode: HaltMode = "soon"

    def __post_init__(self) -> None:
        if self.max_failures is not None and self.max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, got {self.max_failures}")
        if self.max_failure_rate is not None and not 0 < self.max_failure_rate <= 1:
            raise ValueError(
                f"max_failure_rate must be above 0 and at most 1, got {self.max_failure_rate}"
            )
        if self.min_ended < 1:
            raise ValueError(f"min_ended must be at least 1, got {self.min_ended}")
        if unknown := set(self.on) - FAILURE_STATUSES:
            known = ", ".join(sorted(FAILURE_STATUSES))
            raise ValueError(f"unknown end status {sorted(unknown)} in 'on' (known: {known})")
        if not self.on:
            raise ValueError("'on' must name at least one end status")
        if self.mode not in HALT_MODES:
            raise ValueError(f"mode must be 'soon' or 'now', got {self.mode!r}")

    @classmethod
    def of(cls, policy: HaltPolicy) -> HaltPolicyValue:
        return cls(
            max_failures=policy.max_failures,
            max_failure_rate=policy.max_failure_rate,
            min_ended=policy.min_ended,
            on=frozenset(policy.on),
            mode=cast(HaltMode, policy.mode),
        )


def halt_policy_with_overrides(
    policy: HaltPolicy | None,
    *,
    max_failures: int | None,
    max_failure_rate: float | None,
    mode: str | None,
) -> HaltPolicyValue | None:
    """The spec's policy with `--halt-on-failures`, `--halt-on-rate`, `--halt-mode` laid over.

    Each option replaces only its own limit: `--halt-on-failures 5` on a spec that sets a
    rate keeps the rate (whichever is reached first halts). None when no limit is set, as
    such a policy could never halt. Raises UsageError naming the option at fault.
    """
    if max_failures is not None and max_failures < 1:
        raise UsageError(f"--halt-on-failures must be at least 1, got {max_failures}")
    if max_failure_rate is not None and not 0 < max_failure_rate <= 1:
        raise UsageError(f"--halt-on-rate must be above 0 and at most 1, got {max_failure_rate}")
    if mode is not None and mode not in HALT_MODES:
        raise UsageError(f"--halt-mode must be 'soon' or 'now', got {mode!r}")
    try:
        base = HaltPolicyValue() if policy is None else HaltPolicyValue.of(policy)
    except ValueError as exc:
        raise UsageError(f"halt: {exc}") from exc
    merged = HaltPolicyValue(
        max_failures=_either(max_failures, base.max_failures),
        max_failure_rate=_either(max_failure_rate, base.max_failure_rate),
        min_ended=base.min_ended,
        on=base.on,
        mode=cast(HaltMode, _either(mode, base.mode)),
    )
    if merged.max_failures is None and merged.max_failure_rate is None:
        if mode is not None:
            raise UsageError(
                "--halt-mode needs a limit: add --halt-on-failures N or --halt-on-rate P "
                "(or a 'halt' section in the spec)"
            )
        return None
    return merged


def _either(override: Any, value: Any) -> Any:
    return value if override is None else override


_RATE = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+)\s*(?P<percent>%?)\s*$")


def parse_rate(text: str) -> float:
    """A failure rate as a user writes it, "30%" or "0.3", as a fraction in (0, 1].

    A bare number above 1 is refused rather than read as a percentage: "30" could mean 30%
    or a typo of "0.30", and halting at the wrong rate is worse than asking.
    """
    match = _RATE.match(text)
    hint = "write a fraction above 0 and at most 1 (0.3) or a percentage (30%)"
    if match is None:
        raise ValueError(f"{text!r} is not a failure rate: {hint}")
    rate = float(match["number"]) / (100 if match["percent"] else 1)
    if not math.isfinite(rate) or not 0 < rate <= 1:
        raise ValueError(f"{text!r} is not a failure rate: {hint}")
    return rate


def normalise_reason(reason: str) -> str:
    """One line of at most REASON_MAX_CHARS, so that the same failure groups as one."""
    text = " ".join(reason.split())
    if len(text) > REASON_MAX_CHARS:
        text = text[: REASON_MAX_CHARS - 1].rstrip() + "…"
    return text


@dataclass(frozen=True, slots=True)
class HaltTrip:
    """Why a batch halted, as counted when the limit was reached."""

    failures: int
    ended: int
    mode: HaltMode
    limit: Literal["max_failures", "max_failure_rate"]
    top_reasons: tuple[tuple[str, int], ...]
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The `halt` object of summary.json."""
        return {
            "reason": self.message,
            "failures": self.failures,
            "ended": self.ended,
            "mode": self.mode,
        }


class HaltTracker:
    """Counts task ends against a halt policy; a tracker without a policy never trips.

    `record_end` is called once per task that reached a final state. A task's retries are
    one end (the tracker ignores any later call for a task id it has seen), so a batch
    resumed after a crash may safely replay ends it is unsure about. The counts go on after
    the trip (tasks still running under mode "soon" end later); the trip keeps the counts
    it was made with.
    """

    def __init__(self, policy: HaltPolicy | None) -> None:
        # Copied and validated once: a spec model that let a bad value through fails here,
        # before the first task is submitted, not in the middle of the batch.
        self.policy = None if policy is None else HaltPolicyValue.of(policy)
        self.failures = 0
        self.ended = 0
        self.tripped: HaltTrip | None = None
        self._seen: set[str] = set()
        self._reasons: Counter[str] = Counter()

    def resume(self, ended: Iterable[tuple[str, str, str | None]]) -> HaltTrip | None:
        """Count the tasks that ended in earlier invocations of the same batch.

        Returns the trip when they alone reach the limit: the caller should then report it
        and stop before submitting anything (rerunning a halted batch halts again until the
        limit is raised with --halt-on-failures / --halt-on-rate or the spec).
        """
        trip = None
        for task_id, end_status, reason in ended:
            trip = self.record_end(task_id, end_status, reason) or trip
        return trip

    def record_end(self, task_id: str, end_status: str, reason: str | None) -> HaltTrip | None:
        """Count one task's end; returns the trip only from the call that reaches the limit."""
        if end_status != SUCCEEDED and end_status not in FAILURE_STATUSES:
            known = ", ".join(sorted({SUCCEEDED, *FAILURE_STATUSES}))
            raise ValueError(f"unknown end status {end_status!r} (known: {known})")
        if task_id in self._seen:
            return None
        self._seen.add(task_id)
        self.ended += 1
        if self.policy is None or end_status not in self.policy.on:
            return self._check()
        self.failures += 1
        if reason is not None and (normalised := normalise_reason(reason)):
            self._reasons[normalised] += 1
        return self._check()

    def _check(self) -> HaltTrip | None:
        policy = self.policy
        if policy is None or self.tripped is not None:
            return None
        limit: Literal["max_failures", "max_failure_rate"]
        if policy.max_failures is not None and self.failures >= policy.max_failures:
            limit = "max_failures"
            detail = f"limit {policy.max_failures}"
        elif (
            policy.max_failure_rate is not None
            and self.failures > 0
            and self.ended >= policy.min_ended
            and self.failures / self.ended >= policy.max_failure_rate
        ):
            limit = "max_failure_rate"
            detail = (
                f"{_percent(self.failures / self.ended)}, limit "
                f"{_percent(policy.max_failure_rate)} after {policy.min_ended} ended"
            )
        else:
            return None
        top = tuple(self._reasons.most_common(TOP_REASONS))
        noun = "task" if self.ended == 1 else "tasks"
        message = f"halted: {self.failures} of {self.ended} ended {noun} failed ({detail})"
        if top:
            message += "; most common: " + ", ".join(f'"{r}" ×{n}' for r, n in top)
        self.tripped = HaltTrip(
            failures=self.failures,
            ended=self.ended,
            mode=cast(HaltMode, policy.mode),
            limit=limit,
            top_reasons=top,
            message=message,
        )
        return self.tripped


def _percent(rate: float) -> str:
    # 0.3 → "30%", 1/3 → "33.3%": whole percentages when exact, else one decimal.
    value = round(rate * 100, 1)
    return f"{value:g}%"
