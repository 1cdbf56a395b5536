"""One module per CLI command (or command group); `COMMANDS` is what `batchrun` offers."""

from __future__ import annotations

import click

from batchrun.commands.apply import apply_command
from batchrun.commands.artifacts import artifacts_command
from batchrun.commands.cancel import cancel_command
from batchrun.commands.diff import diff_command
from batchrun.commands.export import export_command
from batchrun.commands.inspect import inspect_command
from batchrun.commands.merge import merge_command
from batchrun.commands.plan import plan_command
from batchrun.commands.report import report_command
from batchrun.commands.runs import runs_command
from batchrun.commands.schema import schema_command
from batchrun.commands.sim import sim_command
from batchrun.commands.status import status_command
from batchrun.commands.validate import validate_command
from batchrun.commands.webhooks import webhooks_group

# In the order a user meets them: check, preview, run, watch, look closer, tools.
COMMANDS: list[click.Command] = [
    validate_command,
    plan_command,
    apply_command,
    status_command,
    runs_command,
    cancel_command,
    export_command,
    report_command,
    diff_command,
    inspect_command,
    artifacts_command,
    webhooks_group,
    merge_command,
    sim_command,
    schema_command,
]
