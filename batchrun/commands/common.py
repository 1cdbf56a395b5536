"""Options and look-ups shared by the commands that work on a batch."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from batchrun.cli_errors import JSON_ERRORS, echo_json_warning
from batchrun.decide import FAILURE_END_STATUSES, RetryRequest
from batchrun.halt import parse_rate
from batchrun.ops.context import BatchContext, BatchLocation
from batchrun.shards import Shard, resolve_shard, unsharded_index_hint
from batchrun.spec import BatchSpec, SpecCheck, SpecIssue, check_spec, load_spec
from batchrun.spec.source_files import DEFAULT_MAX_INPUT_BYTES
from batchrun.spec.value_types import parse_duration, parse_size, url_problem

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
    help="The state file (default: .batchrun/state.db next to the spec file; env "
    "BATCHRUN_STATE; relative to the working directory).",
)


class HttpUrlType(click.ParamType):
    """An http(s) URL that the HTTP client will accept: checked here, so that a mistyped
    one is a usage error and not an exception deep in a request."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        problem = url_problem(text, ("http", "https"))
        if problem is None and not text.isprintable():
            problem = "a control character"
        if problem is None:
            import httpx  # only the commands given a URL need the HTTP client

            try:
                httpx.URL(text)
            except (httpx.InvalidURL, ValueError) as exc:
                problem = str(exc)
        if problem is not None:
            why = _URL_PROBLEMS.get(problem, problem)
            self.fail(f"{text!r} is not an http(s) URL ({why})", param, ctx)
        return text


_URL_PROBLEMS = {"scheme": "it must start with http:// or https://", "no host": "no host"}

api_url_option = click.option(
    "--api-url",
    type=HttpUrlType(),
    metavar="URL",
    help="The Skyvern API base URL (overrides the spec's api.base_url).",
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


# `ctx.meta` keys set by `spec_input_options` (the commands that act on what a spec says).
MAX_INPUT_SIZE = "batchrun.max_input_size"
SHOW_SPEC_WARNINGS = "batchrun.show_spec_warnings"


def load(
    spec_path: Path | str,
    *,
    show_warnings: bool = True,
    only_ids: Collection[str] | None = None,
) -> BatchSpec:
    """The spec, read with the command's --max-input-size; its warnings printed (stderr) by
    the commands that act on it, so a spec that will likely not do what it seems to is
    pointed out by `plan` and `apply` too, not only by `validate`."""
    ctx = click.get_current_context(silent=True)
    meta: dict[str, Any] = ctx.meta if ctx is not None else {}
    spec = load_spec(spec_path, max_input_size=spec_input_cap(), only_ids=only_ids)
    if show_warnings and meta.get(SHOW_SPEC_WARNINGS):
        echo_spec_warnings(spec.warnings, as_json=bool(meta.get(JSON_ERRORS)))
    return spec


def check(spec_path: Path | str) -> SpecCheck:
    """The spec checked with the command's --max-input-size, its tasks not kept; warnings
    are the caller's to print."""
    return check_spec(spec_path, max_input_size=spec_input_cap())


def spec_input_cap() -> int:
    """The command's --max-input-size, or the default."""
    ctx = click.get_current_context(silent=True)
    meta: dict[str, Any] = ctx.meta if ctx is not None else {}
    value: int | None = meta.get(MAX_INPUT_SIZE)
    return DEFAULT_MAX_INPUT_BYTES if value is None else value


def echo_spec_warnings(warnings: Sequence[SpecIssue], *, as_json: bool = False) -> None:
    for warning in warnings:
        if as_json:
            echo_json_warning(str(warning), warning.path, warning.line, warning.col)
        else:
            click.echo(warning.as_warning(), err=True)


class SizeType(click.ParamType):
    """A size as the spec writes it: 1000, 500KB, 5MB, 1GB."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _remember_spec_input(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    # Called whether or not the option is given: it also marks the command as one that
    # prints the spec's warnings.
    ctx.meta[MAX_INPUT_SIZE] = value
    ctx.meta[SHOW_SPEC_WARNINGS] = True


def spec_input_options(func: F) -> F:
    """--max-input-size, and the spec's warnings printed: validate, plan and apply."""
    return click.option(
        "--max-input-size",
        type=SizeType(),
        metavar="SIZE",
        expose_value=False,
        callback=_remember_spec_input,
        help="Refuse a spec file (and the files it names, unless its limits.max_input_size "
        "says otherwise) larger than SIZE, e.g. 50MB (default 10MB).",
    )(func)


def locate(
    spec: BatchSpec,
    state_path: Path | None,
    results_root: Path | None = None,
    shard: Shard | None = None,
) -> BatchLocation:
    return BatchLocation.of(spec, state=state_path, results=results_root, shard=shard)


def shard_options(func: F) -> F:
    """--shards N and --shard-index I: one deterministic part of the batch (array jobs)."""
    func = click.option(
        "--shard-index",
        type=click.IntRange(min=0),
        metavar="I",
        help="This process's shard, 0-based (default: from JOB_COMPLETION_INDEX, "
        "CLOUD_RUN_TASK_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID).",
    )(func)
    return click.option(
        "--shards",
        type=click.IntRange(min=1),
        metavar="N",
        help="Run only the tasks whose id hashes to this process's shard of N (each shard "
        "has its own state and results; `batchrun merge` joins them).",
    )(func)


def shard_from(shards: int | None, shard_index: int | None) -> Shard | None:
    hint = unsharded_index_hint(os.environ) if shards is None else None
    if hint:
        ctx = click.get_current_context(silent=True)
        if ctx is not None and ctx.meta.get(JSON_ERRORS):
            echo_json_warning(hint)
        else:
            click.echo(f"batchrun: warning: {hint}", err=True)
    return resolve_shard(shards, shard_index, os.environ)


def open_batch(
    spec_path: Path, state_path: Path | None, results_root: Path | None = None
) -> BatchContext:
    """The spec loaded and its existing state opened (a missing state file is an error)."""
    spec = load(spec_path)
    return BatchContext.open(locate(spec, state_path, results_root))


def retry_options(func: F) -> F:
    """--retry-failed and --retry STATUS: run ended tasks again (plan shows what apply does)."""
    func = click.option(
        "--retry",
        "retry_statuses",
        multiple=True,
        type=click.Choice(FAILURE_END_STATUSES),
        metavar="STATUS",
        help="Run again the tasks that ended with STATUS (repeatable): "
        + ", ".join(FAILURE_END_STATUSES)
        + ".",
    )(func)
    return click.option(
        "--retry-failed",
        is_flag=True,
        help="Run again every task that ended without success, with a fresh allowance of "
        "attempts (default: an ended task stays as it ended).",
    )(func)


def retry_request(retry_failed: bool, retry_statuses: tuple[str, ...]) -> RetryRequest:
    return RetryRequest.of(retry_failed=retry_failed, statuses=retry_statuses)


def echo_location(location: BatchLocation, run_key: str | None, *, err: bool = False) -> None:
    """The first line of plan, apply and status: which state file and instance they use."""
    instance = f"{location.spec.name}/{run_key}" if run_key else f"{location.spec.name} (new)"
    click.echo(f"state {location.state_path} · instance {instance}", err=err)


class _ParsedType(click.ParamType):
    """A value written as in a spec, parsed by the spec's own parser."""

    def parse(self, value: Any) -> float:
        raise NotImplementedError

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class RateType(_ParsedType):
    """A share of the ended tasks: 30% or 0.3."""

    name = "RATE"

    def parse(self, value: Any) -> float:
        return parse_rate(str(value))


class DurationType(_ParsedType):
    """A duration as the spec writes it: 90, 90s, 10m, 1h."""

    name = "DURATION"

    def parse(self, value: Any) -> float:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a duration ({exc})") from None
