"""One module per CLI command (or command group); `LazyCommands` is what `batchrun` offers.

A command's module is imported only when the command is used (or listed in full, as `--help`
does not need: it reads the names alone): `batchrun validate` has no use for the HTTP client,
the scheduler, the live display or the report, which would cost it about 20 MB and 0.3 s.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import click

# In the order a user meets them: check, preview, run, watch, look closer, tools.
_HOMES: dict[str, tuple[str, str]] = {
    "validate": ("batchrun.commands.validate", "validate_command"),
    "plan": ("batchrun.commands.plan", "plan_command"),
    "apply": ("batchrun.commands.apply", "apply_command"),
    "status": ("batchrun.commands.status", "status_command"),
    "runs": ("batchrun.commands.runs", "runs_command"),
    "cancel": ("batchrun.commands.cancel", "cancel_command"),
    "export": ("batchrun.commands.export", "export_command"),
    "report": ("batchrun.commands.report", "report_command"),
    "diff": ("batchrun.commands.diff", "diff_command"),
    "inspect": ("batchrun.commands.inspect", "inspect_command"),
    "artifacts": ("batchrun.commands.artifacts", "artifacts_command"),
    "webhooks": ("batchrun.commands.webhooks", "webhooks_group"),
    "merge": ("batchrun.commands.merge", "merge_command"),
    "sim": ("batchrun.commands.sim", "sim_command"),
    "schema": ("batchrun.commands.schema", "schema_command"),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A click group's `commands`: every name known at once, each module imported on use."""

    def __init__(self) -> None:
        self._loaded: dict[str, click.Command] = {}
        self._names = list(_HOMES)

    def __getitem__(self, name: str) -> click.Command:
        command = self._loaded.get(name)
        if command is None:
            if name not in _HOMES:
                raise KeyError(name)
            module, attribute = _HOMES[name]
            command = getattr(importlib.import_module(module), attribute)
            self._loaded[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)
