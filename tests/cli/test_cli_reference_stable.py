"""docs/cli.md renders the same whatever ran before it in the process.

click caches a command's help option the first time it is asked for, with the help names of
that context; the reference once read that cache, so `make docs` (a fresh process) and the
staleness test (after other tests ran commands) disagreed about `-h`.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.cli_reference import render

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_reference_is_unchanged_after_commands_ran_directly_and_through_the_group() -> None:
    # Through the group first (before anything rendered): cached with -h and --help.
    assert CliRunner().invoke(cli, ["schema", "--help"]).exit_code == 0
    # The command alone (as some tests do): cached with --help only.
    assert CliRunner().invoke(cli.commands["runs"], ["--help"]).exit_code == 0
    assert render() == CLI_MD.read_text(encoding="utf-8")


def test_every_command_documents_its_short_help_option_once() -> None:
    text = render()
    sections = text.split("\n## batchrun ")[1:]
    assert sections
    for section in sections:
        title = section.splitlines()[0]
        assert section.count("| `-h`, `--help` | Show this message and exit. |") == 1, title
