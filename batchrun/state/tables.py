"""What the results tables (`outputs.jsonl`, `outputs.csv`) are made of, read lightly.

The tables are rewritten from the state every few seconds while a batch runs and once at
its end. They need 16 small columns, not the run responses, timelines and requests a
`TaskRecord` carries (about 1.7 KB of JSON per task to read and parse), so they read only
those. `tables_fingerprint` digests exactly these columns, in table order: equal
fingerprints mean equal tables, so an `apply` that changes nothing (a finished batch applied
again) need not rewrite them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchrun.state.rows import dt, dumps, loads
from batchrun.state.tasks import SummaryReads

TABLE_COLUMNS = (
    "task_id, position, state, attempts, run_id, failure_reason, output_json, "
    "output_verdict, validation_error, step_count, started_at, finished_at, app_url, "
    "files_json, artifacts_json, end_status"
)
_EMPTY_LISTS = (None, "[]")


@dataclass(frozen=True, slots=True)
class TableRow:
    """The fields of a task that `batchrun.export.tables.task_row` uses."""

    task_id: str
    position: int
    state: str
    attempts: int
    run_id: str | None
    failure_reason: str | None
    output: Any
    output_verdict: str | None
    validation_error: str | None
    step_count: int | None
    started_at: datetime | None
    finished_at: datetime | None
    app_url: str | None
    files: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    end_status: str | None


def new_fingerprint() -> Any:
    """The digest `tables_fingerprint` and `table_rows(digest=...)` feed."""
    return hashlib.blake2b(digest_size=16)


def _fingerprint_bytes(raw: Any) -> bytes:
    return repr(tuple(raw)).encode()


def _list(text: str | None) -> list[dict[str, Any]]:
    return [] if text in _EMPTY_LISTS else loads(text)


class TableReads(SummaryReads):
    def table_rows(self, batch_id: int, digest: Any = None) -> Iterator[TableRow]:
        """Tasks in spec order (removed ones left out), with only what the tables show.

        With `digest` (a hashlib object), the rows also feed it as `tables_fingerprint` does,
        so a rewrite reads the tasks once and still records what it wrote."""
        for raw in self._table_cursor(batch_id):
            if digest is not None:
                digest.update(_fingerprint_bytes(raw))
            yield TableRow(
                task_id=raw["task_id"],
                position=raw["position"],
                state=raw["state"],
                attempts=raw["attempts"],
                run_id=raw["run_id"],
                failure_reason=raw["failure_reason"],
                output=loads(raw["output_json"]),
                output_verdict=raw["output_verdict"],
                validation_error=raw["validation_error"],
                step_count=raw["step_count"],
                started_at=dt(raw["started_at"]),
                finished_at=dt(raw["finished_at"]),
                app_url=raw["app_url"],
                files=_list(raw["files_json"]),
                artifacts=_list(raw["artifacts_json"]),
                end_status=raw["end_status"],
            )

    def tables_fingerprint(self, batch_id: int) -> str:
        """A digest of everything the tables are made of (no JSON parsed: the raw text)."""
        digest = new_fingerprint()
        for raw in self._table_cursor(batch_id):
            digest.update(_fingerprint_bytes(raw))
        return digest.hexdigest()

    def tables_written(self, batch_id: int) -> tuple[str, int] | None:
        """(fingerprint, mtime of outputs.jsonl) as recorded when the tables were written."""
        row = self._conn.execute(
            "SELECT tables_json FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        value = loads(row["tables_json"]) if row else None
        return (value[0], value[1]) if value else None

    def record_tables_written(self, batch_id: int, fingerprint: str, mtime_ns: int) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET tables_json = ? WHERE id = ?",
                (dumps([fingerprint, mtime_ns]), batch_id),
            )

    def _table_cursor(self, batch_id: int) -> Iterator[Any]:
        return iter(
            self._conn.execute(
                f"SELECT {TABLE_COLUMNS} FROM tasks WHERE batch_id = ? AND removed = 0 "
                "ORDER BY position",
                (batch_id,),
            )
        )
