"""`batchrun validate SPEC...`: check spec files without touching the network."""

from __future__ import annotations

import click

from batchrun.errors import ExitCode
from batchrun.spec import SpecError, load_spec


def echo_spec_error(error: SpecError) -> None:
    """Every issue on its own `path:line:col: message` line, on stderr."""
    for issue in error.issues:
        click.echo(str(issue), err=True)


@click.command("validate")
@click.argument("spec_paths", metavar="SPEC...", nargs=-1, required=True)
@click.pass_context
def validate_command(ctx: click.Context, spec_paths: tuple[str, ...]) -> None:
    """Check SPEC files: print every problem as path:line:col: message, exit 2 if any."""
    failed = False
    for spec_path in spec_paths:
        try:
            spec = load_spec(spec_path)
        except SpecError as exc:
            echo_spec_error(exc)
            failed = True
            continue
        count = len(spec.tasks)
        click.echo(f"{spec_path}: ok ({count} task{'s' if count != 1 else ''})")
    if failed:
        ctx.exit(int(ExitCode.USAGE))
