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
from batchrun.console.wording import one_line
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
# A path that cannot be used as it is: a file where a directory should be, or the reverse.
_PATH_ERRNOS = {errno.ENOTDIR, errno.EISDIR}


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
            result = int(ExitCode.USAGE) if exc.exit_code == 2 else exc.exit_code
            if _json_requested(_argv(args, kwargs)):
                # The command never ran to set JSON_ERRORS, but the user asked for JSON lines.
                echo_json_error(f"{exc.format_message()}{see}", result)
            else:
                click.echo(f"batchrun: error: {one_line(exc.format_message())}{see}", err=True)
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
            _fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("batchrun: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except OSError as exc:
            if exc.errno not in _DISK_ERRNOS | _PATH_ERRNOS:
                raise
            where = f" {exc.filename}" if exc.filename else ""
            verb = "write" if exc.errno in _DISK_ERRNOS else "use"
            _fail(ctx, f"cannot {verb}{where}: {exc.strerror}", ExitCode.LOCAL_IO)
        except sqlite3.DatabaseError as exc:
            # e.g. "database or disk is full": every transition is one transaction, so the
            # state is as it was before the failed write, and a rerun resumes from there.
            _fail(ctx, f"cannot write the state file: {exc}", ExitCode.LOCAL_IO)
        return None  # unreachable: ctx.exit raises


def _fail(ctx: click.Context, message: str, exit_code: ExitCode) -> None:
    """One error line (a JSON object under --log-format json), then exit with `exit_code`."""
    if ctx.meta.get(JSON_ERRORS):
        echo_json_error(message, exit_code)
    else:
        # one_line: a message quoting what the user typed may carry a newline or escapes.
        click.echo(f"batchrun: error: {one_line(message)}", err=True)
    ctx.exit(int(exit_code))


def _argv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    given = kwargs.get("args", args[0] if args else None)
    return list(sys.argv[1:] if given is None else given)


def _json_requested(argv: list[str]) -> bool:
    """Whether the command line asks for JSON lines (`--log-format json` or `=json`)."""
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    return "--log-format=json" in argv or ("--log-format", "json") in pairs


@click.group(cls=BatchrunGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batchrun")
def cli() -> None:
    """Run batches of Skyvern browser-automation tasks declared in a YAML file."""


def _register_commands() -> None:
    # Imported here so that each command module may import `cli` helpers without a cycle.
    from batchrun.commands import LazyCommands

    cli.commands = LazyCommands()


_register_commands()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="batchrun")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
