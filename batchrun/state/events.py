"""The instance's event log: what happened, as the console showed it, kept with the state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from batchrun.events import BatchEvent
from batchrun.state.rows import dumps, loads
from batchrun.state.tables import TableReads


class EventLog(TableReads):
    def add_event(self, batch_id: int, event: BatchEvent) -> None:
        """Buffer an event; it is written with the next transition (or by `flush_events`)."""
        self._pending_events.append(
            (
                batch_id,
                datetime.fromtimestamp(event.ts, UTC).isoformat(),
                str(event.kind),
                event.level,
                event.task,
                event.attempt,
                event.run_id,
                event.status,
                event.message,
                dumps(event.data) if event.data else None,
            )
        )

    def flush_events(self) -> None:
        if self._pending_events:
            with self._transaction():
                pass

    def events(
        self, batch_id: int, *, task_id: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        query = (
            "SELECT ts, kind, level, task_id, attempt, run_id, status, message, data_json "
            "FROM events WHERE batch_id = ?"
        )
        args: list[Any] = [batch_id]
        for column, value in (("task_id", task_id), ("kind", kind)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        rows = self._conn.execute(query + " ORDER BY id", args).fetchall()
        return [
            {
                "ts": row["ts"],
                "kind": row["kind"],
                "level": row["level"],
                "task": row["task_id"],
                "attempt": row["attempt"],
                "run_id": row["run_id"],
                "status": row["status"],
                "message": row["message"],
                "data": loads(row["data_json"]),
            }
            for row in rows
        ]
