"""Attempts: one row per create request, from its key (written before the request goes out)
to the run's final status. Recovery after a crash acts on exactly these phases."""

from __future__ import annotations

import json
from typing import Any

from batchrun.state.batches import BatchTable
from batchrun.state.packing import pack_json_text
from batchrun.state.records import OPEN_PHASES, AttemptPhase, AttemptRecord, TaskEnd, TaskState
from batchrun.state.redacting import RedactingConnection
from batchrun.state.rows import ATTEMPT_COLUMNS, attempt_record, dumps, now_utc, ts


class AttemptTable(BatchTable):
    def begin_attempt(
        self,
        batch_id: int,
        task_id: str,
        *,
        attempt_key: str,
        kind: str,
        request: dict[str, Any],
        reserved_steps: int,
    ) -> AttemptRecord:
        """Record an attempt's key durably BEFORE its create request is sent.

        After a crash, an attempt found in this phase may or may not have created a run: it is
        looked up by its key before anything is submitted again. Its number is the task's
        count of runs so far plus one: attempt N is the N-th run created for the task (an
        attempt that turns out to have created nothing gives its number back).
        """
        with self._transaction(durable=True) as conn:
            return self._write_attempt_key(
                conn, batch_id, task_id, attempt_key, kind, request, reserved_steps
            )

    async def begin_attempt_grouped(
        self,
        batch_id: int,
        task_id: str,
        *,
        attempt_key: str,
        kind: str,
        request: dict[str, Any],
        reserved_steps: int,
    ) -> AttemptRecord:
        """`begin_attempt` for many callers at once: the key is on disk when this returns,
        synced together with the keys of the other attempts that began within a few ms."""
        with self._transaction() as conn:
            record = self._write_attempt_key(
                conn, batch_id, task_id, attempt_key, kind, request, reserved_steps
            )
        await self.sync()
        return record

    def _write_attempt_key(
        self,
        conn: RedactingConnection,
        batch_id: int,
        task_id: str,
        attempt_key: str,
        kind: str,
        request: dict[str, Any],
        reserved_steps: int,
    ) -> AttemptRecord:
        """Insert the attempt; its record as a read would return it, built without one."""
        stamp = now_utc()
        # Scrubbed here rather than by the connection, so that the record holds what the
        # file holds (the connection's own pass then finds nothing left to mask).
        request_text = conn.redactor.text(dumps(request))
        (number,) = conn.execute(
            "SELECT attempts + 1 FROM tasks WHERE batch_id = ? AND task_id = ?",
            (batch_id, task_id),
        ).fetchone()
        cursor = conn.execute(
            "INSERT INTO attempts (batch_id, task_id, number, attempt_key, phase, kind, "
            "request_json, reserved_steps, prepared_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                batch_id,
                task_id,
                number,
                attempt_key,
                AttemptPhase.PREPARED,
                kind,
                request_text,
                reserved_steps,
                ts(stamp),
            ),
        )
        conn.execute(
            "UPDATE tasks SET state = ?, attempts = attempts + 1, next_attempt_at = NULL, "
            "started_at = COALESCE(started_at, ?), updated_at = ? "
            "WHERE batch_id = ? AND task_id = ?",
            (TaskState.SUBMITTING, ts(stamp), ts(stamp), batch_id, task_id),
        )
        self._spend(conn, batch_id, runs=1, steps=reserved_steps)
        assert cursor.lastrowid is not None
        return AttemptRecord(
            id=cursor.lastrowid,
            task_id=task_id,
            number=number,
            attempt_key=attempt_key,
            phase=AttemptPhase.PREPARED,
            kind=kind,
            request=json.loads(request_text),
            reserved_steps=reserved_steps,
            run_id=None,
            run_type=None,
            status=None,
            step_count=None,
            failure_reason=None,
            prepared_at=stamp,
            accepted_at=None,
            finished_at=None,
        )

    def attempt_accepted(
        self,
        attempt: AttemptRecord,
        *,
        batch_id: int,
        run_id: str,
        run_type: str | None,
        status: str | None,
        app_url: str | None,
    ) -> None:
        stamp = ts(now_utc())
        # Committed at once even inside a group: the run exists, its id must not be lost.
        with self._transaction(prompt=True) as conn:
            conn.execute(
                "UPDATE attempts SET phase = ?, run_id = ?, run_type = ?, status = ?, "
                "accepted_at = ? WHERE id = ?",
                (AttemptPhase.ACCEPTED, run_id, run_type, status, stamp, attempt.id),
            )
            conn.execute(
                "UPDATE tasks SET state = ?, run_id = ?, last_status = ?, app_url = ?, "
                "updated_at = ? WHERE batch_id = ? AND task_id = ?",
                (TaskState.RUNNING, run_id, status, app_url, stamp, batch_id, attempt.task_id),
            )

    def attempt_unknown(self, attempt: AttemptRecord, reason: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET phase = ?, failure_reason = ? WHERE id = ?",
                (AttemptPhase.UNKNOWN, reason, attempt.id),
            )

    def attempt_not_created(
        self, attempt: AttemptRecord, *, batch_id: int, reason: str, final: bool
    ) -> None:
        """No run exists for this attempt: it costs nothing and does not count as an attempt.

        `final` marks the task failed (the server refused the request itself: 400/422);
        otherwise the task goes back to pending and will be submitted again.
        """
        stamp = ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET phase = ?, failure_reason = ?, finished_at = ? WHERE id = ?",
                (AttemptPhase.NOT_CREATED, reason, stamp, attempt.id),
            )
            self._spend(conn, batch_id, runs=-1, steps=-attempt.reserved_steps)
            if final:
                conn.execute(
                    "UPDATE tasks SET state = ?, end_status = 'failed', attempts = attempts - 1, "
                    "failure_reason = ?, finished_at = ?, exported = 0, updated_at = ? "
                    "WHERE batch_id = ? AND task_id = ?",
                    (TaskState.FAILED, reason, stamp, stamp, batch_id, attempt.task_id),
                )
            else:
                conn.execute(
                    "UPDATE tasks SET state = ?, attempts = attempts - 1, updated_at = ? "
                    "WHERE batch_id = ? AND task_id = ?",
                    (TaskState.PENDING, stamp, batch_id, attempt.task_id),
                )

    def attempt_progress(
        self,
        attempt: AttemptRecord,
        *,
        batch_id: int,
        status: str,
        step_count: int | None,
        queued_s: float | None = None,
    ) -> None:
        stamp = ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET status = ?, step_count = ? WHERE id = ?",
                (status, step_count, attempt.id),
            )
            conn.execute(
                "UPDATE tasks SET last_status = ?, step_count = ?, updated_at = ? "
                "WHERE batch_id = ? AND task_id = ?",
                (status, step_count, stamp, batch_id, attempt.task_id),
            )

    def finish_attempt(
        self,
        attempt: AttemptRecord,
        *,
        batch_id: int,
        status: str,
        step_count: int | None,
        failure_reason: str | None,
        response: dict[str, Any] | None,
        end: TaskEnd,
        queued_s: float = 0.0,
    ) -> None:
        """The run reached a final status: record it and the task's next state together."""
        stamp = now_utc()
        steps = step_count or 0
        final = end.state != TaskState.RETRY_WAIT
        response_text = dumps(response) if response is not None else None
        # The task keeps it packed (a few hundred bytes instead of ~1.5 KB), scrubbed first:
        # the connection's own scrubbing sees only strings.
        packed = (
            pack_json_text(self._conn.redactor.text(response_text))
            if response_text is not None
            else None
        )
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET phase = ?, status = ?, step_count = ?, failure_reason = ?, "
                "response_json = ?, finished_at = ? WHERE id = ?",
                (
                    AttemptPhase.FINISHED,
                    status,
                    step_count,
                    failure_reason,
                    # A final attempt's response is the task's `run_response_json` (set below):
                    # kept once, there. An attempt that will be retried keeps its own, since
                    # the task's is replaced by the next attempt's.
                    None if final else response_text,
                    ts(stamp),
                    attempt.id,
                ),
            )
            self._spend(conn, batch_id, runs=0, steps=steps - attempt.reserved_steps)
            # The final read's app link wins: a skyvern-1.0 create answer links to /runs/,
            # later reads to /tasks/. A succeeded task's output replaces the last one; a
            # failed attempt keeps what an earlier success may have left visible.
            conn.execute(
                "UPDATE tasks SET state = ?, last_status = ?, step_count = ?, "
                "total_steps = total_steps + ?, run_response_json = ?, updated_at = ?, "
                "app_url = COALESCE(?, app_url), queued_s = queued_s + ?, "
                "failure_reason = ?, end_status = ?, next_attempt_at = ?, "
                "output_json = CASE WHEN ? THEN ? ELSE output_json END, "
                "output_verdict = CASE WHEN ? THEN ? ELSE output_verdict END, "
                "validation_error = CASE WHEN ? THEN ? ELSE validation_error END, "
                "finished_at = CASE WHEN ? THEN ? ELSE finished_at END, "
                "exported = CASE WHEN ? THEN 0 ELSE exported END "
                "WHERE batch_id = ? AND task_id = ?",
                (
                    end.state,
                    status,
                    step_count,
                    steps,
                    packed,
                    ts(stamp),
                    response.get("app_url") if response else None,
                    queued_s,
                    end.failure_reason,
                    end.end_status,
                    ts(end.next_attempt_at),
                    end.state == TaskState.SUCCEEDED,
                    dumps(end.output),
                    end.state == TaskState.SUCCEEDED,
                    end.output_verdict,
                    end.state == TaskState.SUCCEEDED,
                    end.validation_error,
                    final,
                    ts(stamp),
                    final,
                    batch_id,
                    attempt.task_id,
                ),
            )

    def attempt(self, attempt_id: int) -> AttemptRecord | None:
        row = self._conn.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,)
        ).fetchone()
        return attempt_record(row) if row else None

    def open_attempts(self, batch_id: int) -> list[AttemptRecord]:
        rows = self._conn.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE batch_id = ? AND phase IN (?, ?, ?) "
            "ORDER BY id",
            (batch_id, *OPEN_PHASES),
        ).fetchall()
        return [attempt_record(row) for row in rows]

    def attempts_for_task(self, batch_id: int, task_id: str) -> list[AttemptRecord]:
        rows = self._conn.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE batch_id = ? AND task_id = ? "
            "ORDER BY id",
            (batch_id, task_id),
        ).fetchall()
        return [attempt_record(row) for row in rows]

    def known_run_ids(self, batch_id: int) -> set[str]:
        """Run ids already claimed by some attempt: a lookup must never adopt one twice."""
        rows = self._conn.execute(
            "SELECT run_id FROM attempts WHERE batch_id = ? AND run_id IS NOT NULL", (batch_id,)
        )
        return {row["run_id"] for row in rows}
