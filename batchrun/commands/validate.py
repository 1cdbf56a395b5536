"""`batchrun validate SPEC...`: check spec files without touching the network."""

from __future__ import annotations

import click

from batchrun.commands.common import check, spec_input_options
from batchrun.errors import ExitCode
from batchrun.spec import SpecError


def echo_spec_error(error: SpecError) -> None:
    """Every issue on its own `path:line:col: message` line, on stderr."""
    for issue in error.issues:
        click.echo(str(issue), err=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


@click.command("validate")
@click.argument("spec_paths", metavar="SPEC...", nargs=-1, required=True)
@click.option(
    "--strict", is_flag=True, help="Treat warnings as errors: exit 2 if any spec has one."
)
@spec_input_options
@click.pass_context
def validate_command(ctx: click.Context, spec_paths: tuple[str, ...], strict: bool) -> None:
    """Check SPEC files: print every problem as path:line:col: message, exit 2 if any.

    Specs that are valid but will likely not do what they seem to get
    path:line:col: warning: message lines (on stderr); they fail only with --strict."""
    failed = False
    for spec_path in spec_paths:
        try:
            spec = check(spec_path)
        except SpecError as exc:
            echo_spec_error(exc)
            failed = True
            continue
        for warning in spec.warnings:
            click.echo(warning.as_warning(), err=True)
        if strict and spec.warnings:
            failed = True
            continue
        summary = _plural(spec.task_count, "task")
        if spec.warnings:
            summary += f", {_plural(len(spec.warnings), 'warning')}"
        click.echo(f"{spec_path}: ok ({summary})")
    if failed:
        ctx.exit(int(ExitCode.USAGE))
