"""`batchrun apply`: run a batch, or resume it where it stopped."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

from batchrun.api_access import ApiAccess, resolve_api_access, spec_secrets
from batchrun.apply import apply_batch, resolve_batch
from batchrun.commands.common import (
    DurationType,
    api_url_option,
    load,
    only_option,
    open_state,
    results_option,
    run_option,
    spec_argument,
    state_option,
)
from batchrun.console import LOG_FORMATS, make_event_sink
from batchrun.errors import UsageError
from batchrun.inspection import select_tasks
from batchrun.report import write_report
from batchrun.scheduler import ApplyOptions


@click.command("apply")
@spec_argument
@run_option
@click.option("--new", is_flag=True, help="Start a fresh instance of the batch, not resume.")
@state_option
@only_option
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Runs in flight at once.")
@api_url_option
@results_option
@click.option(
    "--cancel-on-interrupt",
    is_flag=True,
    help="On Ctrl-C / SIGTERM cancel the runs in flight (default: leave them running and "
    "re-attach on resume).",
)
@click.option(
    "--sim",
    is_flag=True,
    help="Run against the built-in Skyvern simulator, started in-process (no account needed).",
)
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --sim: the simulator scenario file (default: the built-in demo scenario).",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="auto",
    show_default=True,
    help="auto: a live display on a terminal, plain lines otherwise; json: JSON lines.",
)
@click.option(
    "--give-up-after",
    type=DurationType(),
    default="5m",
    show_default=True,
    help="Stop (exit 3, resumable) when no API call has succeeded for this long.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only warnings, errors and the summary.")
@click.option("--no-report", is_flag=True, help="Do not write report.html at the end.")
def apply_command(
    spec_path: Path,
    run_key: str | None,
    new: bool,
    state_path: Path | None,
    only: str | None,
    concurrency: int | None,
    api_url: str | None,
    results_root: Path | None,
    cancel_on_interrupt: bool,
    sim: bool,
    scenario: Path | None,
    log_format: str,
    give_up_after: float,
    quiet: bool,
    no_report: bool,
) -> None:
    """Submit the batch's tasks, poll them to the end, retry by policy, export results.

    Running the same command again resumes an interrupted batch: runs already accepted by
    the server are re-attached, never submitted twice; succeeded tasks are skipped.
    """
    if scenario is not None and not sim:
        raise UsageError("--scenario goes with --sim")
    if sim and api_url is not None:
        raise UsageError("--sim and --api-url exclude each other")
    if run_key is not None and new:
        raise UsageError("--run and --new exclude each other")
    spec = load(spec_path)
    selected = frozenset(select_tasks(spec, only)) if only is not None else None
    with ExitStack() as stack:
        if sim:
            from batchrun.sim import Scenario, demo_scenario, start_simulator

            chosen = Scenario.from_yaml(scenario) if scenario is not None else demo_scenario()
            simulator = stack.enter_context(start_simulator(chosen))
            access = ApiAccess(simulator.base_url, simulator.api_key)
        else:
            access = resolve_api_access(spec, api_url=api_url)
        secrets = spec_secrets(spec)
        store = open_state(state_path, spec, create=True)
        stack.callback(store.close)
        batch = resolve_batch(store, spec, run_key=run_key, new=new)
        console = stack.enter_context(
            make_event_sink(
                stream=sys.stdout,
                log_format=log_format,  # type: ignore[arg-type]
                quiet=quiet,
                secrets={access.api_key, *secrets},
            )
        )
        options = ApplyOptions(
            concurrency=concurrency or spec.concurrency,
            only=selected,
            cancel_on_interrupt=cancel_on_interrupt,
            api_down_after_s=give_up_after,
        )
        result = apply_batch(
            spec,
            store,
            batch,
            access,
            console,
            options,
            results_root=results_root,
            secrets=secrets,
        )
    results_dir = result.summary.results_dir
    if not no_report and results_dir is not None and (results_dir / "outputs.jsonl").exists():
        write_report(results_dir)
    console.print_summary(result.summary)
    if result.fatal is not None:
        click.echo(f"batchrun: error: {result.fatal}", err=True)
    sys.exit(int(result.exit_code))
