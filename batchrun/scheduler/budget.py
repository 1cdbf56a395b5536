"""The spec's budget: no new run once the runs or steps it allows are used or reserved."""

from __future__ import annotations

from typing import Any

from batchrun.state import StateStore, Usage

# Skyvern's step cap when a request names none (docs/skyvern-api.md §4): what a run may
# cost, reserved against the budget until its real step count is known.
DEFAULT_MAX_STEPS = 10


class Budget:
    def __init__(
        self, store: StateStore, batch_id: int, *, max_runs: int | None, max_steps: int | None
    ) -> None:
        self._store = store
        self._batch_id = batch_id
        self.max_runs = max_runs
        self.max_steps = max_steps
        self.exhausted = False

    def allows(self, reserved_steps: int) -> Usage | None:
        """None when a run reserving `reserved_steps` may start; else the usage that stops it
        (and from then on nothing starts)."""
        if self.exhausted:
            return self._store.usage(self._batch_id)
        if self.max_runs is None and self.max_steps is None:
            return None
        usage = self._store.usage(self._batch_id)
        if (self.max_runs is not None and usage.runs + 1 > self.max_runs) or (
            self.max_steps is not None and usage.steps + reserved_steps > self.max_steps
        ):
            self.exhausted = True
            return usage
        return None


def reserved_steps(body: dict[str, Any], headers: dict[str, str]) -> int:
    """What a run of this request may cost in steps: its own cap, else the server's default."""
    steps = body.get("max_steps") or headers.get("x-max-steps-override")
    try:
        return int(steps) if steps is not None else DEFAULT_MAX_STEPS
    except ValueError:
        return DEFAULT_MAX_STEPS
