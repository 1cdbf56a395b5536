"""The state store: every transition of a batch instance, each in one SQLite transaction.

The scheduler never writes SQL; it calls one method per transition. The tables have one
module each: `batches` (instances), `tasks`, `attempts` (create requests and their runs)
and `events` (the log); `core` opens the file and runs transactions.
"""

from __future__ import annotations

from pathlib import Path

from batchrun.state.events import EventLog


class StateStore(EventLog):
    """A state file, open: use `open_store`; close it when done."""


def open_store(path: Path | str) -> StateStore:
    return StateStore.open(Path(path))
