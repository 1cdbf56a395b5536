"""`batchrun report`: (re)write report.html for a batch run from its results directory."""

from __future__ import annotations

from pathlib import Path

import click

from batchrun.commands.common import (
    existing_batch,
    load,
    open_state,
    results_option,
    run_option,
    spec_argument,
    state_option,
)
from batchrun.errors import UsageError
from batchrun.export import ResultsDir
from batchrun.report import write_report
from batchrun.spec import BatchSpec
from batchrun.state import default_state_path


@click.command("report")
@spec_argument
@run_option
@results_option
@state_option
def report_command(
    spec_path: Path, run_key: str | None, results_root: Path | None, state_path: Path | None
) -> None:
    """Write report.html into the batch run's results directory and print its path.

    The report is one self-contained page (summary, chart of runs over time, every task
    with its output, failure and screenshots) that opens offline: mail it as it is.
    """
    spec = load(spec_path)
    root = results_root or spec.results_dir
    key = run_key or _latest_run_key(spec, root, state_path)
    try:
        results = ResultsDir(root, spec.name, key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not results.path.is_dir():
        raise UsageError(f"no results for run {key!r} of batch {spec.name!r} at {results.path}")
    click.echo(str(write_report(results.path)))


def _latest_run_key(spec: BatchSpec, root: Path, state_path: Path | None) -> str:
    """The state's latest run of this spec; without a state file (results copied to another
    machine), the most recently written run directory."""
    if (state_path or default_state_path()).exists():
        store = open_state(state_path, spec)
        try:
            return existing_batch(store, spec, None).run_key
        finally:
            store.close()
    base = root / spec.name
    runs = [d for d in base.iterdir() if d.is_dir()] if base.is_dir() else []
    if not runs:
        raise UsageError(f"no results under {base}: run `batchrun apply {spec.path}` first")
    return max(runs, key=lambda d: d.stat().st_mtime).name
