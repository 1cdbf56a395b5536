"""batchrun: a declarative batch job runner for Skyvern browser-automation runs.

The library is the product; the `batchrun` command line is a thin layer over it. A batch
from Python::

    import batchrun

    spec = batchrun.load_spec("jobs/prices.yaml")
    print(batchrun.plan(spec).counts())               # what apply would do; no network
    summary = batchrun.apply(spec)                    # runs (or resumes) it; blocks
    print(summary.succeeded, summary.failed, summary.results_dir)

    with batchrun.start_simulator() as sim:           # no account needed
        batchrun.apply(spec, api_url=sim.base_url, api_key=sim.api_key)

`apply_async` is the same, awaitable, for programs that run their own event loop. Errors
are `BatchrunError` subclasses carrying the command line's exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchrun.lazy import lazy_attributes
from batchrun.version import __version__

if TYPE_CHECKING:
    from batchrun.api import apply, apply_async, plan, status
    from batchrun.decide import Action, RetryRequest
    from batchrun.errors import (
        ApiUnavailableError,
        BatchLockedError,
        BatchrunError,
        ExitCode,
        LocalIOError,
        UsageError,
    )
    from batchrun.events import BatchEvent, EventKind, EventSink
    from batchrun.ops.plan import Plan, PlannedTask
    from batchrun.sim import start_simulator
    from batchrun.spec import BatchSpec, SpecError, TaskSpec, load_spec
    from batchrun.summary import BatchSummary, FailedTask

# Each name is imported when first used: `import batchrun.spec` (every command does) must not
# pay for the HTTP client, the scheduler and the report (about 40 MB and 0.3 s), nor `apply`
# for the simulator's web server.
_HOMES = {
    "apply": "batchrun.api",
    "apply_async": "batchrun.api",
    "plan": "batchrun.api",
    "status": "batchrun.api",
    "Action": "batchrun.decide",
    "RetryRequest": "batchrun.decide",
    "ApiUnavailableError": "batchrun.errors",
    "BatchLockedError": "batchrun.errors",
    "BatchrunError": "batchrun.errors",
    "ExitCode": "batchrun.errors",
    "LocalIOError": "batchrun.errors",
    "UsageError": "batchrun.errors",
    "BatchEvent": "batchrun.events",
    "EventKind": "batchrun.events",
    "EventSink": "batchrun.events",
    "Plan": "batchrun.ops.plan",
    "PlannedTask": "batchrun.ops.plan",
    "start_simulator": "batchrun.sim",
    "BatchSpec": "batchrun.spec",
    "SpecError": "batchrun.spec",
    "TaskSpec": "batchrun.spec",
    "load_spec": "batchrun.spec",
    "BatchSummary": "batchrun.summary",
    "FailedTask": "batchrun.summary",
}


__getattr__ = lazy_attributes(__name__, _HOMES)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Action",
    "ApiUnavailableError",
    "BatchEvent",
    "BatchLockedError",
    "BatchSpec",
    "BatchSummary",
    "BatchrunError",
    "EventKind",
    "EventSink",
    "ExitCode",
    "FailedTask",
    "LocalIOError",
    "Plan",
    "PlannedTask",
    "RetryRequest",
    "SpecError",
    "TaskSpec",
    "UsageError",
    "__version__",
    "apply",
    "apply_async",
    "load_spec",
    "plan",
    "start_simulator",
    "status",
]
