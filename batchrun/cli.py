"""The `batchrun` command line: a thin click layer over the library.

Each command lives in its own module under `batchrun.commands`; this module only builds the
group and maps every error a user can cause to one readable line and its exit code.
"""

from __future__ import annotations

import errno
import sqlite3
import sys
from typing import Any

import click

from batchrun.cli_errors import JSON_ERRORS, echo_json_error
from batchrun.errors import BatchrunError, ExitCode
from batchrun.spec import SpecError
from batchrun.version import __version__

# Local write failures a user can cause or meet: a full disk, a quota, a file size limit, a
# read-only or forbidden place.
_DISK_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
}


class BatchrunGroup(click.Group):
    """A click group that ends every known failure with a message, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they were added, not alphabetical

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Usage errors in the same grammar as every other error: `batchrun: error: ...`."""
        standalone = kwargs.pop("standalone_mode", True)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `batchrun` alone: its help
                click.echo(exc.format_message())
                return self._end(int(ExitCode.USAGE), standalone)
            usage_ctx = getattr(exc, "ctx", None)
            see = f" (see: {usage_ctx.command_path} --help)" if usage_ctx is not None else ""
            click.echo(f"batchrun: error: {exc.format_message()}{see}", err=True)
            result = int(ExitCode.USAGE) if exc.exit_code == 2 else exc.exit_code
        except click.exceptions.Abort:
            click.echo("batchrun: interrupted", err=True)
            result = int(ExitCode.INTERRUPTED)
        return self._end(result, standalone)

    @staticmethod
    def _end(result: Any, standalone: bool) -> Any:
        if not standalone:
            return result
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            if ctx.meta.get(JSON_ERRORS):
                for issue in exc.issues:
                    echo_json_error(str(issue), exc.exit_code, issue.path, issue.line, issue.col)
            else:
                for issue in exc.issues:  # the documented `file:line:col: message` lines
                    click.echo(str(issue), err=True)
            ctx.exit(int(exc.exit_code))
        except BatchrunError as exc:
            if ctx.meta.get(JSON_ERRORS):
                echo_json_error(str(exc), exc.exit_code)
            else:
                click.echo(f"batchrun: error: {exc}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("batchrun: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except OSError as exc:
            if exc.errno not in _DISK_ERRNOS:
                raise
            where = f" {exc.filename}" if exc.filename else ""
            click.echo(f"batchrun: error: cannot write{where}: {exc.strerror}", err=True)
            ctx.exit(int(ExitCode.LOCAL_IO))
        except sqlite3.DatabaseError as exc:
            # e.g. "database or disk is full": every transition is one transaction, so the
            # state is as it was before the failed write, and a rerun resumes from there.
            click.echo(f"batchrun: error: cannot write the state file: {exc}", err=True)
            ctx.exit(int(ExitCode.LOCAL_IO))
        return None  # unreachable: ctx.exit raises


@click.group(cls=BatchrunGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batchrun")
def cli() -> None:
    """Run batches of Skyvern browser-automation tasks declared in a YAML file."""


def _register_commands() -> None:
    # Imported here so that each command module may import `cli` helpers without a cycle.
    from batchrun.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="batchrun")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
