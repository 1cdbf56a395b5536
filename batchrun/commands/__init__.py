"""One module per CLI command (or command group); `COMMANDS` is what `batchrun` offers."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

from batchrun.commands.sim import sim_command  # noqa: E402

COMMANDS.append(sim_command)

from batchrun.commands.plan import plan_command  # noqa: E402
from batchrun.commands.schema import schema_command  # noqa: E402
from batchrun.commands.validate import validate_command  # noqa: E402

COMMANDS.extend([validate_command, plan_command, schema_command])

from batchrun.commands.report import report_command  # noqa: E402

COMMANDS.append(report_command)

from batchrun.commands.artifacts import artifacts_command  # noqa: E402
from batchrun.commands.inspect import inspect_command  # noqa: E402
from batchrun.commands.webhooks import webhooks_group  # noqa: E402

COMMANDS.extend([inspect_command, artifacts_command, webhooks_group])

from batchrun.commands.export import export_command  # noqa: E402

COMMANDS.append(export_command)

from batchrun.commands.apply import apply_command  # noqa: E402
from batchrun.commands.cancel import cancel_command  # noqa: E402
from batchrun.commands.status import status_command  # noqa: E402

COMMANDS.extend([apply_command, status_command, cancel_command])
