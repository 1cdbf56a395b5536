"""`batchrun diff`: what changed between two batch instances of a spec.

Exit status as diff(1): 0 when nothing differs, 1 when something does, 2 on error. Where the
instances come from is a parameter (`build_diff_command(source_for)`): the results directory
for now, the state later, with the same command line.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import click

from batchrun.commands.common import only_option, spec_argument, state_option
from batchrun.diffing import (
    BatchDiff,
    DiffInputError,
    InstanceRows,
    ResultsDirInstances,
    compute_diff,
    parse_path,
    render_text,
)
from batchrun.errors import UsageError
from batchrun.export.tables import to_json
from batchrun.spec import load_spec


class DiffSpec(Protocol):
    """What the command reads of a spec (`diff_ignore` is optional until the spec has it)."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def results_dir(self) -> Path: ...


# source_for(spec, **values of the extra options) -> the instances of that spec.
SourceFor = Callable[..., InstanceRows]
OptionDecorator = Callable[[Any], Any]


def results_dir_source(spec: DiffSpec, *, results_root: Path | None = None) -> InstanceRows:
    """The instances in the results directory: `--results`, else the spec's `results`.

    A relative `results` in the spec is taken from the spec file's directory, so that the
    same spec finds the same results whatever directory cron starts in.
    """
    root = results_root or spec.results_dir
    if results_root is None and not root.is_absolute():
        root = spec.path.parent / root
    return ResultsDirInstances(root)


def pick_runs(
    spec_name: str, keys: Sequence[str], from_key: str | None, to_key: str | None, where: str = ""
) -> tuple[str, str]:
    """The (from, to) run keys: by default the latest run against the one before it.

    `keys` are oldest first. `--to` alone compares that run with the one before it;
    `--from` alone compares that run with the latest.
    """
    known = ", ".join(keys) or "none"
    for option, key in (("--from", from_key), ("--to", to_key)):
        if key is not None and key not in keys:
            raise UsageError(
                f"{option}: batch {spec_name!r} has no run {key!r}{_where(where)} "
                f"(known runs: {known})"
            )
    if to_key is None:
        if not keys:
            raise UsageError(f"batch {spec_name!r} has no runs with results{_where(where)}")
        to_key = keys[-1]
    if from_key is None:
        position = keys.index(to_key)
        if position == 0:
            if len(keys) == 1:
                raise UsageError(
                    f"batch {spec_name!r} has only one run{_where(where)} ({to_key}): "
                    "a diff needs two (run it again, or give --from and --to)"
                )
            raise UsageError(
                f"run {to_key!r} is the oldest of batch {spec_name!r}: nothing before it to "
                f"compare with (known runs: {known})"
            )
        from_key = keys[position - 1]
    return from_key, to_key


def _where(where: str) -> str:
    return f" {where}" if where else ""


class _OnlyFilter:
    """The rows whose task id matches --only, counting matches on both sides."""

    def __init__(self, pattern: str | None) -> None:
        self.pattern = pattern
        self.matched = 0

    def __call__(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for row in rows:
            task = row.get("task")
            if self.pattern is None or (
                isinstance(task, str) and fnmatch.fnmatchcase(task, self.pattern)
            ):
                self.matched += 1
                yield row


def _ignore_patterns(spec: DiffSpec, ignore: Sequence[str]) -> list[str]:
    from_spec = tuple(getattr(spec, "diff_ignore", ()) or ())
    for origin, patterns in (("diff.ignore in the spec", from_spec), ("--ignore", ignore)):
        for pattern in patterns:
            try:
                parse_path(pattern)
            except ValueError as exc:
                raise UsageError(f"{origin}: {exc}") from None
    return [*from_spec, *ignore]


def _diff(
    spec: DiffSpec,
    source: InstanceRows,
    from_key: str | None,
    to_key: str | None,
    only: str | None,
    patterns: Sequence[str],
) -> BatchDiff:
    describe = getattr(source, "describe", None)
    where = describe(spec.name) if callable(describe) else ""
    old_key, new_key = pick_runs(spec.name, source.run_keys(spec.name), from_key, to_key, where)
    only_rows = _OnlyFilter(only)
    try:
        diff = compute_diff(
            only_rows(source.rows(spec.name, old_key)),
            only_rows(source.rows(spec.name, new_key)),
            from_key=old_key,
            to_key=new_key,
            ignore=patterns,
        )
    except DiffInputError as exc:
        raise UsageError(str(exc)) from None
    if only is not None and only_rows.matched == 0:
        raise UsageError(f"--only {only!r} matches no task in run {old_key} or {new_key}")
    return diff


def build_diff_command(
    source_for: SourceFor, *, extra_options: Sequence[OptionDecorator] = ()
) -> click.Command:
    """The `diff` command reading instances from `source_for(spec, **extra option values)`.

    `extra_options` are click option decorators the source needs (e.g. --results, --state);
    their values reach `source_for` as keyword arguments, never the diff itself. A source
    with a `close()` is closed when the command ends; one with `describe(spec_name)` says
    where it looked in its error messages ("in results/prices").
    """

    @click.command("diff")
    @spec_argument
    @click.option(
        "--from", "from_key", metavar="KEY", help="The older run (default: the one before --to)."
    )
    @click.option("--to", "to_key", metavar="KEY", help="The newer run (default: the latest).")
    @click.option("--json", "as_json", is_flag=True, help="Print the diff as one JSON document.")
    @only_option
    @click.option(
        "--ignore",
        "ignore",
        metavar="PATH",
        multiple=True,
        help="An output field that always changes, e.g. '$.items[*].seen_at' (* is any key "
        "or index; ignores everything under it). Repeatable; adds to the spec's diff.ignore.",
    )
    @click.pass_context
    def diff_command(
        ctx: click.Context,
        spec_path: Path,
        from_key: str | None,
        to_key: str | None,
        as_json: bool,
        only: str | None,
        ignore: tuple[str, ...],
        **source_options: Any,
    ) -> None:
        """Compare two runs of a spec: changed outputs, added, removed, newly failed, recovered.

        Exit status 0 when nothing differs, 1 when something does, 2 on error.
        """
        spec: DiffSpec = load_spec(spec_path)
        patterns = _ignore_patterns(spec, ignore)
        source = source_for(spec, **source_options)
        try:
            diff = _diff(spec, source, from_key, to_key, only, patterns)
        finally:
            # A state-backed source holds the state file open; the results directory does not.
            if callable(close := getattr(source, "close", None)):
                close()
        if as_json:
            click.echo(to_json(diff.as_json(), indent=2))
        else:
            for line in render_text(diff):
                click.echo(line)
        ctx.exit(1 if diff.has_differences else 0)

    command: click.Command = diff_command
    for option in extra_options:
        command = option(command)  # click appends a decorated Command's option to its params
    return command


def _state_source(spec: DiffSpec, *, state_path: Path | None = None) -> InstanceRows:
    from batchrun.ops.diff import state_source

    return state_source(spec, state_path=state_path)  # type: ignore[arg-type]


diff_command = build_diff_command(_state_source, extra_options=[state_option])
