"""What happens to each task of a batch instance now: the one decision `plan`, `apply` and
`status` share, so that what `plan` shows is exactly what `apply` does.

Pure: it looks at what the state remembers of a task, the spec's version of the task and the
user's retry flags, and says what to do; it does no I/O. The rules (docs/running.md):

- a task never seen before is created;
- an unfinished task resumes: a run in flight is re-attached, a pending attempt submitted, a
  retry wait kept;
- a task that ended stays as it ended (succeeded, or failed / terminated / timed_out /
  invalid_output / canceled) unless its request changed (a new run) or the user asked for
  it with `--retry-failed` or `--retry STATUS`;
- a task in the state but no longer in the spec is removed from the instance's results (its
  runs and its history are left alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from batchrun.state.records import StoredTask

# How a task ended without success (`end_status`), as `--retry STATUS` names it.
FAILURE_END_STATUSES: tuple[str, ...] = (
    "failed",
    "terminated",
    "timed_out",
    "invalid_output",
    "canceled",
)
UNFINISHED_STATES = frozenset({"pending", "submitting", "running", "retry_wait"})
IN_FLIGHT_STATES = frozenset({"submitting", "running"})


class Action(StrEnum):
    CREATE = "create"  # never submitted: its first attempt starts
    SKIP = "skip"  # succeeded with this very request
    CHANGED = "changed"  # its request changed since: a new run, with a fresh allowance
    RESUME = "resume"  # unfinished: re-attach, submit or keep waiting, as it stood
    RETRY = "retry"  # ended without success and the user asked to run it again
    KEEP = "keep"  # ended without success and stays so
    REMOVE = "remove"  # no longer in the spec: dropped from the results, history kept


@dataclass(frozen=True, slots=True)
class RetryRequest:
    """The end statuses the user asked to run again (`--retry-failed`, `--retry STATUS`)."""

    statuses: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, retry_failed: bool = False, statuses: Iterable[str] = ()) -> RetryRequest:
        chosen = set(statuses)
        if retry_failed:
            chosen |= set(FAILURE_END_STATUSES)
        unknown = chosen - set(FAILURE_END_STATUSES)
        if unknown:
            raise ValueError(f"cannot retry tasks that ended {', '.join(sorted(unknown))}")
        return cls(frozenset(chosen))

    def wants(self, end_status: str | None) -> bool:
        return end_status is not None and end_status in self.statuses


NO_RETRY = RetryRequest()


def decide(
    stored: StoredTask | None, spec_hash: str | None, retry: RetryRequest = NO_RETRY
) -> Action:
    """The action for one task: `stored` is the state's row (None: never stored), `spec_hash`
    the content hash of the spec's request (None: the spec no longer has the task)."""
    if spec_hash is None:
        if stored is None:
            raise ValueError("a task must be in the spec or in the state")
        return Action.REMOVE
    if stored is None:
        return Action.CREATE
    changed = stored.content_hash != spec_hash
    if stored.state in IN_FLIGHT_STATES:
        # A run may exist: it is never abandoned. A change is acted on once it has ended.
        return Action.RESUME
    if stored.state in UNFINISHED_STATES:
        if changed:
            return Action.CHANGED if stored.attempts else Action.CREATE
        return Action.RESUME if stored.attempts else Action.CREATE
    if changed:
        return Action.CHANGED
    if stored.state == "succeeded":
        return Action.SKIP
    return Action.RETRY if retry.wants(stored.end_status) else Action.KEEP


# The actions that need a run (`apply` submits, re-attaches or waits for them).
NEEDS_A_RUN = frozenset({Action.CREATE, Action.CHANGED, Action.RESUME, Action.RETRY})
