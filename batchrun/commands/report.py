"""`batchrun report`: (re)write report.html for a batch run from its results directory."""

from __future__ import annotations

from pathlib import Path

import click

from batchrun.commands.common import (
    load,
    locate,
    results_option,
    run_option,
    spec_argument,
    state_option,
)
from batchrun.errors import UsageError
from batchrun.ops.context import BatchContext, BatchLocation
from batchrun.report import write_report


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
    location = locate(spec, state_path, results_root)
    key = run_key or _latest_run_key(location)
    try:
        results = location.results_for(key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not results.path.is_dir():
        raise UsageError(f"no results for run {key!r} of batch {spec.name!r} at {results.path}")
    click.echo(str(write_report(results.path)))


def _latest_run_key(location: BatchLocation) -> str:
    """The state's latest instance of this spec; without a state file (results copied to
    another machine), the most recently written run directory."""
    spec = location.spec
    if location.state_path.exists():
        with BatchContext.open(location) as ctx:
            return ctx.instance(None).run_key
    base = location.results_root / spec.name
    found = base.iterdir() if base.is_dir() else iter(())
    runs = [d for d in found if d.is_dir() and not d.name.startswith(".")]
    if not runs:
        raise UsageError(f"no results under {base}: run `batchrun apply {spec.path}` first")
    return max(runs, key=lambda d: d.stat().st_mtime).name
