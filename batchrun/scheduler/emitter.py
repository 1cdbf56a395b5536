"""Reporting through the event stream: each event goes to the state's log and to the sink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batchrun.events import BatchEvent, EventKind, EventSink, Level
from batchrun.state import StateStore


@dataclass(frozen=True)
class Emitter:
    store: StateStore
    batch_id: int
    label: str  # names the batch in every event
    sink: EventSink

    def __call__(
        self,
        kind: EventKind,
        message: str = "",
        level: Level = "info",
        *,
        task: str | None = None,
        attempt: int | None = None,
        run_id: str | None = None,
        status: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        event = BatchEvent(
            kind,
            self.label,
            message,
            level,
            task=task,
            attempt=attempt,
            run_id=run_id,
            status=status,
            data=data or {},
        )
        self.store.add_event(self.batch_id, event)
        self.sink.emit(event)
