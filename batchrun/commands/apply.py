"""`batchrun apply`: run a batch, or resume it where it stopped."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import click

from batchrun.api_access import ApiAccess, access_for, resolve_api_access
from batchrun.cli_errors import JSON_ERRORS, echo_json_error
from batchrun.commands.common import (
    DurationType,
    RateType,
    api_url_option,
    echo_spec_warnings,
    load,
    locate,
    only_option,
    results_option,
    retry_options,
    retry_request,
    run_option,
    shard_from,
    shard_options,
    spec_argument,
    spec_input_cap,
    spec_input_options,
    state_option,
)
from batchrun.console import LOG_FORMATS, ConsoleSink, make_event_sink
from batchrun.errors import UsageError
from batchrun.inspection import select_tasks
from batchrun.ops.apply import ApplyOptions, ApplyResult, apply
from batchrun.ops.context import api_key_secrets
from batchrun.ops.unchanged import (
    UnchangedInstance,
    apply_ended,
    find_unchanged,
    tasks_with_work,
)
from batchrun.scheduler.push import ListenOptions
from batchrun.spec import BatchSpec, SpecIssue


@click.command("apply")
@spec_argument
@run_option
@click.option("--new", is_flag=True, help="Start a fresh instance of the batch, not resume.")
@state_option
@results_option
@only_option
@retry_options
@shard_options
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Runs in flight at once.")
@api_url_option
@click.option(
    "--cancel-on-interrupt",
    is_flag=True,
    help="On Ctrl-C / SIGTERM cancel the runs in flight (default: leave them running and "
    "re-attach on resume).",
)
@click.option(
    "--sim",
    is_flag=True,
    help="Run against the built-in Skyvern simulator, started in-process (no account needed); "
    "its runs are kept next to the state, so the same command resumes.",
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
@click.option(
    "--halt-on-failures",
    type=click.IntRange(min=1),
    metavar="N",
    help="Stop starting runs once N tasks ended failed (overrides the spec's halt.max_failures).",
)
@click.option(
    "--halt-on-rate",
    type=RateType(),
    help="Stop starting runs once this share of the ended tasks failed, e.g. 30% "
    "(overrides halt.max_failure_rate).",
)
@click.option(
    "--halt-mode",
    type=click.Choice(["soon", "now"]),
    help="When the batch halts: soon lets runs in flight finish; now cancels them.",
)
@click.option(
    "--diff-from",
    metavar="KEY",
    help="At the end, write diff.json beside outputs.jsonl: this instance against KEY.",
)
@click.option(
    "--order",
    type=click.Choice(["longest", "spec"]),
    default="longest",
    show_default=True,
    help="longest: start first the tasks earlier instances of the spec saw take longest "
    "(the batch's tail ends sooner); spec: the spec's order.",
)
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Serve a webhook receiver (port 0: any free port) and have each run report its end "
    "to it, instead of finding ends by polling (which goes on slowly as the fallback). "
    "Loopback by default (PORT alone); another address needs --public-url.",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="With --listen: the origin Skyvern reaches the receiver at (a tunnel or proxy), "
    "e.g. https://hooks.example.com.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only warnings, errors and the summary.")
@click.option("--no-report", is_flag=True, help="Do not write report.html at the end.")
@spec_input_options
def apply_command(
    spec_path: Path,
    run_key: str | None,
    new: bool,
    state_path: Path | None,
    results_root: Path | None,
    only: str | None,
    retry_failed: bool,
    retry_statuses: tuple[str, ...],
    shards: int | None,
    shard_index: int | None,
    concurrency: int | None,
    api_url: str | None,
    cancel_on_interrupt: bool,
    sim: bool,
    scenario: Path | None,
    log_format: str,
    give_up_after: float,
    halt_on_failures: int | None,
    halt_on_rate: float | None,
    halt_mode: str | None,
    diff_from: str | None,
    order: str,
    listen: str | None,
    public_url: str | None,
    quiet: bool,
    no_report: bool,
) -> None:
    """Submit the batch's tasks, poll them to the end, retry by policy, export results.

    Running the same command again resumes the instance: runs already accepted by the
    server are re-attached, never submitted twice; tasks that ended stay as they ended
    unless their request changed or --retry-failed / --retry STATUS asks for them.
    """
    if log_format == "json":
        click.get_current_context().meta[JSON_ERRORS] = True
    if scenario is not None and not sim:
        raise UsageError("--scenario goes with --sim")
    if sim and api_url is not None:
        raise UsageError("--sim and --api-url exclude each other")
    if run_key is not None and new:
        raise UsageError("--run and --new exclude each other")
    if public_url is not None and listen is None:
        raise UsageError("--public-url goes with --listen")
    listen_options = ListenOptions.parse(listen, public_url) if listen is not None else None
    shard = shard_from(shards, shard_index)
    if shard is not None and (run_key is None or new):
        raise UsageError(
            "--shards needs --run KEY: every shard of a batch must use the same run key"
        )
    hint_args = _hint_args(state_path, results_root, api_url, offline=sim)
    unchanged = None
    if not (new or only or retry_failed or retry_statuses or diff_from or listen):
        unchanged = find_unchanged(
            spec_path,
            max_input_size=spec_input_cap(),
            state=state_path,
            results=results_root,
            shard=shard,
            run_key=run_key,
        )
        if unchanged is not None:
            _apply_ended(unchanged, sim, concurrency, log_format, quiet, no_report, hint_args)
    spec, proven = _load_for_apply(spec_path, unchanged)
    location = locate(spec, state_path, results_root, shard)
    spec = location.spec
    options = ApplyOptions(
        run_key=run_key,
        new=new,
        only=frozenset(select_tasks(spec, only)) if only is not None else None,
        retry=retry_request(retry_failed, retry_statuses),
        concurrency=concurrency,
        cancel_on_interrupt=cancel_on_interrupt,
        give_up_after_s=give_up_after,
        report=not no_report,
        halt_on_failures=halt_on_failures,
        halt_on_rate=halt_on_rate,
        halt_mode=halt_mode,
        diff_from=diff_from,
        order=order,
        listen=listen_options,
        proven_fingerprint=proven,
    )
    with ExitStack() as stack:
        if sim:
            from batchrun.sim import Scenario, demo_scenario, start_simulator

            chosen = Scenario.from_yaml(scenario) if scenario is not None else demo_scenario()
            store_path = location.state_path.parent / "sim" / f"{spec.name}.db"
            simulator = stack.enter_context(start_simulator(chosen, store_path=store_path))
            access = ApiAccess(simulator.base_url, simulator.api_key)
        else:
            access = resolve_api_access(spec, api_url=api_url)
        console = stack.enter_context(
            make_event_sink(
                stream=sys.stdout,
                log_format=log_format,  # type: ignore[arg-type]
                quiet=quiet,
                secrets=api_key_secrets(spec) | {access.api_key},
            )
        )
        console.hint_args = hint_args
        # The loaded spec (every expanded task) lives until the command ends: kept out of
        # the cyclic collector's reach, so that its full passes during the batch do not
        # walk tens of thousands of long-lived objects again and again.
        gc.freeze()
        result = apply(location, access, console, options)
    _end(console, result, log_format)


def _load_for_apply(
    spec_path: Path, unchanged: UnchangedInstance | None
) -> tuple[BatchSpec, str | None]:
    """The spec, and the fingerprint that proved the tasks it leaves out unchanged: with an
    unchanged spec, only the tasks the state has work for are built (`ops/unchanged.py`)."""
    if unchanged is None:
        return load(spec_path), None
    wanted = tasks_with_work(unchanged)
    spec = load(spec_path, only_ids=wanted, show_warnings=False)
    if sorted(task.id for task in spec.tasks) != sorted(wanted):
        return load(spec_path), None  # not the ids the state has: build every task
    _echo_warnings(unchanged.snapshot.warnings)
    return spec, unchanged.fingerprint


def _echo_warnings(warnings: Sequence[SpecIssue]) -> None:
    echo_spec_warnings(warnings, as_json=bool(click.get_current_context().meta.get(JSON_ERRORS)))


def _apply_ended(
    ended: UnchangedInstance,
    sim: bool,
    concurrency: int | None,
    log_format: str,
    quiet: bool,
    no_report: bool,
    hint_args: list[str],
) -> None:
    """The spec is as it was and the instance has nothing left to do (`ops/unchanged.py`):
    say so without loading the spec. Returns if the state shows work after all."""
    snapshot = ended.snapshot
    # The same requirement as a full `apply`: the key is set, though nothing will be sent.
    api_key = None if sim else access_for(snapshot.api_base_url, snapshot.api_key_env).api_key
    secrets = snapshot.secrets(os.environ) | ({api_key} if api_key else set())
    with make_event_sink(
        stream=sys.stdout,
        log_format=log_format,  # type: ignore[arg-type]
        quiet=quiet,
        secrets=secrets,
    ) as console:
        console.hint_args = hint_args
        result = apply_ended(
            ended, console, secrets=secrets, report=not no_report, concurrency=concurrency
        )
    if result is not None:
        _echo_warnings(snapshot.warnings)
        _end(console, result, log_format)


def _end(console: ConsoleSink, result: ApplyResult, log_format: str) -> NoReturn:
    console.print_summary(result.summary)
    if result.error is not None:
        if log_format == "json":
            echo_json_error(str(result.error), result.exit_code)
        else:
            click.echo(f"batchrun: error: {result.error}", err=True)
    sys.exit(int(result.exit_code))


def _hint_args(
    state_path: Path | None, results_root: Path | None, api_url: str | None, *, offline: bool
) -> list[str]:
    """The options a printed follow-up command needs to find the same batch."""
    args: list[str] = []
    if state_path is not None:
        args += ["--state", str(state_path)]
    if api_url is not None:
        args += ["--api-url", api_url]
    if offline:
        args.append("--offline")  # the simulator is gone once apply --sim ends
    return args
