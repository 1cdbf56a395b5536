"""Batch instances: one row per run key of a spec, with what it has spent and why it stopped."""

from __future__ import annotations

from typing import Any

from batchrun.state.core import StoreCore
from batchrun.state.records import BatchRecord, Usage
from batchrun.state.redacting import RedactingConnection
from batchrun.state.rows import BATCH_COLUMNS, batch_record, dumps, now_utc, ts


class BatchTable(StoreCore):
    def find_batch(self, spec_name: str, run_key: str | None = None) -> BatchRecord | None:
        """The instance `run_key` of the spec, or its latest one when `run_key` is None."""
        if run_key is None:
            row = self._conn.execute(
                f"SELECT {BATCH_COLUMNS} FROM batches WHERE spec_name = ? ORDER BY id DESC LIMIT 1",
                (spec_name,),
            ).fetchone()
        else:
            row = self._conn.execute(
                f"SELECT {BATCH_COLUMNS} FROM batches WHERE spec_name = ? AND run_key = ?",
                (spec_name, run_key),
            ).fetchone()
        return batch_record(row) if row else None

    def list_batches(self, spec_name: str) -> list[BatchRecord]:
        """Every instance of the spec, oldest first."""
        rows = self._conn.execute(
            f"SELECT {BATCH_COLUMNS} FROM batches WHERE spec_name = ? ORDER BY id", (spec_name,)
        ).fetchall()
        return [batch_record(row) for row in rows]

    def spec_names(self) -> list[str]:
        rows = self._conn.execute("SELECT DISTINCT spec_name FROM batches ORDER BY spec_name")
        return [row[0] for row in rows]

    def create_batch(self, spec_name: str, run_key: str, spec_path: str | None) -> BatchRecord:
        stamp = ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO batches (spec_name, run_key, spec_path, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (spec_name, run_key, spec_path, stamp, stamp),
            )
        batch = self.find_batch(spec_name, run_key)
        assert batch is not None
        return batch

    def start_invocation(self, batch_id: int, spec_path: str | None) -> None:
        """An `apply` begins: whatever stopped the last one no longer holds."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET stopped_json = NULL, updated_at = ?, "
                "spec_path = COALESCE(?, spec_path) WHERE id = ?",
                (ts(now_utc()), spec_path, batch_id),
            )

    def end_invocation(
        self,
        batch_id: int,
        *,
        finished: bool,
        active_s: float,
        stopped: dict[str, Any] | None,
    ) -> None:
        """An `apply` ends: whether the instance is done, the time it spent working, and why
        it stopped early if it did."""
        stamp = ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET updated_at = ?, active_s = active_s + ?, "
                "finished_at = CASE WHEN ? THEN COALESCE(finished_at, ?) ELSE NULL END, "
                "stopped_json = ? WHERE id = ?",
                (
                    stamp,
                    active_s,
                    finished,
                    stamp,
                    dumps(stopped) if stopped is not None else None,
                    batch_id,
                ),
            )

    def usage(self, batch_id: int) -> Usage:
        """Runs created (or possibly created), and steps spent by finished runs plus those
        reserved by runs in flight: kept by every transition, so reading it is cheap."""
        row = self._conn.execute(
            "SELECT runs_used, steps_used FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        return Usage(runs=row["runs_used"], steps=row["steps_used"])

    @staticmethod
    def _spend(conn: RedactingConnection, batch_id: int, *, runs: int, steps: int) -> None:
        conn.execute(
            "UPDATE batches SET runs_used = runs_used + ?, steps_used = steps_used + ? "
            "WHERE id = ?",
            (runs, steps, batch_id),
        )
