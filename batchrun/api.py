"""The Python API's functions (exported by `batchrun`): the same operations as the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import anyio

from batchrun.api_access import ApiAccess, access_for, resolve_api_access
from batchrun.decide import RetryRequest
from batchrun.events import BatchEvent, EventSink
from batchrun.ops import apply as apply_op
from batchrun.ops import plan as plan_op
from batchrun.ops import status as status_op
from batchrun.ops.context import BatchContext, BatchLocation
from batchrun.ops.unchanged import apply_ended, find_unchanged
from batchrun.spec import BatchSpec, load_spec
from batchrun.spec.source_files import DEFAULT_MAX_INPUT_BYTES
from batchrun.summary import BatchSummary

SpecLike = BatchSpec | str | os.PathLike[str]


class _Silent:
    """The default event sink of the API: a program asks for events by passing its own."""

    def emit(self, event: BatchEvent) -> None:
        return None


def _spec(spec: SpecLike) -> BatchSpec:
    return spec if isinstance(spec, BatchSpec) else load_spec(spec)


def _location(
    spec: SpecLike, state: str | Path | None, results: str | Path | None
) -> BatchLocation:
    return BatchLocation.of(
        _spec(spec), state=state, results=Path(results) if results is not None else None
    )


def plan(
    spec: SpecLike,
    *,
    run_key: str | None = None,
    retry_failed: bool = False,
    retry: Iterable[str] = (),
    state: str | Path | None = None,
) -> plan_op.Plan:
    """What `apply` would do with each task of the instance `run_key` (default: the latest)."""
    return plan_op.plan(
        _location(spec, state, None),
        run_key=run_key,
        retry=RetryRequest.of(retry_failed=retry_failed, statuses=retry),
    )


def status(
    spec: SpecLike, *, run_key: str | None = None, state: str | Path | None = None
) -> BatchSummary:
    """The summary of an instance (default: the latest) from its state file alone."""
    with BatchContext.open(_location(spec, state, None)) as ctx:
        return status_op.status(ctx, ctx.instance(run_key), per_state=0).summary


async def apply_async(
    spec: SpecLike,
    *,
    run_key: str | None = None,
    new: bool = False,
    only: Iterable[str] | None = None,
    retry_failed: bool = False,
    retry: Iterable[str] = (),
    concurrency: int | None = None,
    api_url: str | None = None,
    api_key: str | None = None,
    state: str | Path | None = None,
    results: str | Path | None = None,
    events: EventSink | None = None,
    give_up_after_s: float = 300.0,
    report: bool = True,
) -> BatchSummary:
    """Run (or resume) a batch instance and return its summary.

    The API key is `api_key`, else the environment variable the spec names. Signals are
    left to the calling program. An API that refuses the key or stays unreachable raises
    `ApiUnavailableError`; every other outcome (failed tasks, an exhausted budget) is in
    the returned summary.
    """
    asks_for_work = new or only is not None or retry_failed or any(retry)
    if not isinstance(spec, BatchSpec) and not asks_for_work:
        ended = find_unchanged(
            Path(spec),
            max_input_size=DEFAULT_MAX_INPUT_BYTES,
            state=state,
            results=Path(results) if results is not None else None,
            run_key=run_key,
        )
        if ended is not None:
            snapshot = ended.snapshot
            # The same requirement as a full `apply`: a key, though nothing will be sent.
            key = api_key or access_for(snapshot.api_base_url, snapshot.api_key_env).api_key
            secrets = snapshot.secrets(os.environ) | {key}
            finished = apply_ended(
                ended, events or _Silent(), secrets=secrets, report=report, concurrency=concurrency
            )
            if finished is not None:
                return finished.summary
    location = _location(spec, state, results)
    loaded = location.spec
    if api_key is not None:
        access = ApiAccess((api_url or loaded.api_base_url).rstrip("/"), api_key)
    else:
        access = resolve_api_access(loaded, api_url=api_url)
    options = apply_op.ApplyOptions(
        run_key=run_key,
        new=new,
        only=frozenset(only) if only is not None else None,
        retry=RetryRequest.of(retry_failed=retry_failed, statuses=retry),
        concurrency=concurrency,
        give_up_after_s=give_up_after_s,
        handle_signals=False,
        report=report,
    )
    result = await apply_op.apply_async(location, access, events or _Silent(), options)
    if result.error is not None:
        raise result.error
    return result.summary


def apply(spec: SpecLike, **options: object) -> BatchSummary:
    """`apply_async`, blocking (takes the same keyword arguments)."""

    async def run() -> BatchSummary:
        return await apply_async(spec, **options)  # type: ignore[arg-type]

    return anyio.run(run)
