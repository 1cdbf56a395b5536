"""What every part of the simulated API shares: the run registry and Skyvern's error shape.

`RunBook` holds the runs and the settings that shape answers; the engine and its answer
builders (`responses`, `artifacts`, `listing`, `timeline`) all read runs through it. Every
method runs on the server's event loop thread, so no locks are needed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from batchrun.sim.files import LinkSigner
from batchrun.sim.lifecycle import Run, RunState
from batchrun.sim.scenario import Scenario

ORGANIZATION_ID = "o_400000000000000001"
APP_URL = "http://localhost:8080"  # a self-hosted server's SKYVERN_APP_URL default


class ApiError(Exception):
    """An error the API answers with `status` and `body` (JSON)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def iso(moment: datetime | None) -> str | None:
    """Skyvern's timestamps: naive UTC ISO-8601, no offset."""
    return None if moment is None else moment.isoformat()


def naive_utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def maybe_wall(run: Run, offset: float | None) -> str | None:
    return None if offset is None else iso(run.wall(offset))


class RunBook:
    """The runs by id and number, and the settings every answer depends on."""

    scenario: Scenario
    seed: int
    time_scale: float
    signer: LinkSigner
    clock: Callable[[], float]  # monotonic seconds; tests may pass their own
    runs: list[Run]
    by_id: dict[str, Run]
    by_num: dict[int, Run]

    def find(self, run_id: str) -> Run | None:
        return self.by_id.get(run_id)

    def state(self, run: Run) -> RunState:
        return run.state_at(self.clock())
