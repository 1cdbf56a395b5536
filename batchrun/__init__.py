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

from typing import TYPE_CHECKING, Any

from batchrun.api import (
    apply,
    apply_async,
    plan,
    status,
)
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
from batchrun.spec import BatchSpec, SpecError, TaskSpec, load_spec
from batchrun.summary import BatchSummary, FailedTask
from batchrun.version import __version__

if TYPE_CHECKING:
    from batchrun.sim import start_simulator


def __getattr__(name: str) -> Any:
    # The simulator is a web server (uvicorn, starlette: about 20 MB): loaded when asked for.
    if name == "start_simulator":
        from batchrun.sim import start_simulator

        return start_simulator
    raise AttributeError(f"module 'batchrun' has no attribute {name!r}")


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
