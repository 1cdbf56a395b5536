"""docs/cli.md is generated from the click commands and must match them."""

from __future__ import annotations

from pathlib import Path

import click

from batchrun.cli import cli
from batchrun.cli_reference import EXIT_CODE_DESCRIPTIONS, render
from batchrun.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
CLI_MD = ROOT / "docs" / "cli.md"


def test_docs_cli_md_is_up_to_date() -> None:
    expected = render()
    actual = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    assert actual == expected, (
        "docs/cli.md is stale: it no longer matches the click commands or the exit codes. "
        "Run `make docs` and commit docs/cli.md."
    )


def test_every_exit_code_has_a_description() -> None:
    missing = [member.name for member in ExitCode if int(member) not in EXIT_CODE_DESCRIPTIONS]
    assert not missing, f"add these ExitCode members to EXIT_CODE_DESCRIPTIONS: {missing}"


def _all_commands(group: click.Group, ctx: click.Context, prefix: str = "") -> list[str]:
    names = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, info_name=name, parent=ctx)
            names += _all_commands(command, sub_ctx, f"{prefix}{name} ")
    return names


def test_reference_covers_every_command_and_option_in_order() -> None:
    text = render()
    ctx = click.Context(cli, info_name="batchrun")
    commands = _all_commands(cli, ctx)
    positions = [text.index(f"\n## batchrun {name}\n") for name in commands]
    assert positions == sorted(positions), "commands are not rendered in the CLI's order"
    for name in commands:
        command: click.Command = cli
        for part in name.split():
            assert isinstance(command, click.Group)
            found = command.get_command(ctx, part)
            assert found is not None
            command = found
        section = text[text.index(f"\n## batchrun {name}\n") :]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert f"`{param.opts[0]}" in section, f"{name}: {param.opts[0]} not documented"


def test_exit_code_table_lists_every_member() -> None:
    text = render()
    for member in ExitCode:
        assert f"| {int(member)} | `{member.name}` |" in text
