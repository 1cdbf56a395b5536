"""How one `apply` invocation runs: the knobs the command line and the Python API set, and
what it did that the state does not say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SchedulerOptions:
    concurrency: int
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
class RunStats:
    """What happened in this invocation that the state does not say by itself."""

    interrupted: bool = False
    budget_exhausted: bool = False
    halted: dict[str, Any] | None = None
    worked: bool = False  # it submitted, watched or exported something
