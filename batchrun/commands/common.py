"""Options and look-ups shared by the commands that work on a batch."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from batchrun.api_access import spec_secrets
from batchrun.errors import UsageError
from batchrun.spec import BatchSpec, load_spec
from batchrun.spec.value_types import parse_duration
from batchrun.state import BatchRecord, StateStore, default_state_path, open_store

F = TypeVar("F", bound=Callable[..., Any])

spec_argument = click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))

run_option = click.option(
    "--run",
    "run_key",
    metavar="KEY",
    help="The batch instance (default: the latest one of this spec). "
    'Cron: --run "$(date +%F)" gives one batch per day.',
)

state_option = click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="BATCHRUN_STATE",
    help="The state file (default .batchrun/state.db; env BATCHRUN_STATE).",
)

api_url_option = click.option(
    "--api-url", metavar="URL", help="The Skyvern API base URL (overrides the spec's api.base_url)."
)

only_option = click.option(
    "--only", metavar="GLOB", help="Only the tasks whose id matches GLOB (an error if none does)."
)

results_option = click.option(
    "--results",
    "results_root",
    type=click.Path(path_type=Path, file_okay=False),
    help="The results directory (overrides the spec's `results`).",
)


def batch_options(func: F) -> F:
    """SPEC, --run and --state: what every command that reads a batch's state takes."""
    return spec_argument(run_option(state_option(func)))


def load(spec_path: Path) -> BatchSpec:
    return load_spec(spec_path)


def open_state(state_path: Path | None, spec: BatchSpec, *, create: bool = False) -> StateStore:
    """The state store, set never to write the spec's secrets (nor the API key) in clear.

    Only `apply` creates a state file; any other command asked about a missing one says so.
    """
    path = state_path or default_state_path()
    if not create and not path.exists():
        raise UsageError(
            f"no state file at {path}: batch {spec.name!r} has never been applied here "
            "(run `batchrun apply` first, or point --state / BATCHRUN_STATE at its state file)"
        )
    store = open_store(path)
    secrets = spec_secrets(spec)
    if api_key := os.environ.get(spec.api_key_env):
        secrets.add(api_key)
    store.redact(secrets)
    return store


def existing_batch(store: StateStore, spec: BatchSpec, run_key: str | None) -> BatchRecord:
    batch = store.find_batch(spec.name, run_key)
    if batch is not None:
        return batch
    if run_key is None:
        raise UsageError(
            f"batch {spec.name!r} has never been applied (state file {store.path}); "
            f"run `batchrun apply {spec.path}` first"
        )
    known = ", ".join(b.run_key for b in store.list_batches(spec.name)) or "none"
    raise UsageError(
        f"batch {spec.name!r} has no run {run_key!r} in {store.path} (known runs: {known})"
    )


class DurationType(click.ParamType):
    """A duration as the spec writes it: 90, 90s, 10m, 1h."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(f"{value!r} is not a duration ({exc})", param, ctx)
