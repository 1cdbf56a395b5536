"""One module per CLI command (or command group); `COMMANDS` is what `batchrun` offers."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

from batchrun.commands.sim import sim_command  # noqa: E402

COMMANDS.append(sim_command)
