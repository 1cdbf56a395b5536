"""The state store: every transition of a batch, each in one SQLite transaction.

The scheduler never writes SQL; it calls one method per transition here. The file is in WAL
mode so `status` and `plan` can read while `apply` writes, and `synchronous=NORMAL` keeps
ordinary transitions cheap; the one write that must survive a power cut before anything is
paid for (an attempt's key, written before its create request goes out) is synced with
`synchronous=FULL`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from batchrun.errors import LocalIOError
from batchrun.events import BatchEvent
from batchrun.plan import StoredTaskView
from batchrun.state.records import (
    OPEN_PHASES,
    AttemptPhase,
    AttemptRecord,
    BatchRecord,
    TaskRecord,
    TaskState,
    Usage,
)
from batchrun.state.redacting import RedactingConnection
from batchrun.state.schema import MIGRATIONS, known_migration_names

DEFAULT_STATE_PATH = Path(".batchrun") / "state.db"


def default_state_path() -> Path:
    return Path(os.environ.get("BATCHRUN_STATE") or DEFAULT_STATE_PATH)


class TaskDefinition(Protocol):
    """The parts of a spec task the state keeps (`batchrun.spec.TaskSpec` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def content_hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Succeeded:
    output: Any
    output_verdict: str | None
    validation_error: str | None


@dataclass(frozen=True, slots=True)
class RetryLater:
    next_attempt_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


@dataclass(frozen=True, slots=True)
class Canceled:
    reason: str


TaskOutcome = Succeeded | RetryLater | Failed | Canceled


@dataclass(frozen=True, slots=True)
class SchedulingRow:
    """What the scheduler needs of a stored task to decide what to do next."""

    task_id: str
    state: TaskState
    content_hash: str
    attempts: int
    round_start: int
    next_attempt_at: datetime | None
    exported: bool

    @property
    def tries_this_round(self) -> int:
        return self.attempts - self.round_start


def now_utc() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _loads(value: str | None) -> Any:
    return json.loads(value) if value is not None else None


def read_task_views(
    state_path: Path | None, spec_name: str, run_key: str | None
) -> dict[str, StoredTaskView]:
    """What `plan` compares the spec with; reading never creates a state file."""
    path = state_path or default_state_path()
    if not path.exists():
        return {}
    store = open_store(path)
    try:
        batch = store.find_batch(spec_name, run_key)
        return store.task_views(batch.id) if batch is not None else {}
    finally:
        store.close()


def open_store(path: Path | str | None = None) -> StateStore:
    return StateStore.open(Path(path) if path is not None else default_state_path())


class StateStore:
    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._conn = RedactingConnection(db.conn)
        self._pending_events: list[tuple[Any, ...]] = []

    def redact(self, secrets: Iterable[str]) -> None:
        """Never write these values (the API key, values taken from the environment).

        Applied to every parameter of every write, so that a secret echoed back by the server
        (in a run's request echo, its output, its timeline) cannot reach the file either.
        """
        self._conn.secrets = {secret for secret in secrets if secret}

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> StateStore:
        if path.is_dir():
            raise LocalIOError(f"state path {path} is a directory, not a state file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db = Database(conn)
            conn.execute("PRAGMA busy_timeout = 15000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            cls._migrate(db, path)
        except sqlite3.DatabaseError as exc:
            raise LocalIOError(
                f"cannot use state file {path}: {exc} (is it a batchrun state database?)"
            ) from None
        return cls(db, path)

    @classmethod
    def _migrate(cls, db: Database, path: Path) -> None:
        """Bring the file's schema up to date; safe with other processes opening it at once.

        `apply`, `status` and a cron job may open the same file in the same instant, one of
        them creating it. The check is repeated under the write lock (BEGIN IMMEDIATE), so
        exactly one process migrates and the others see either nothing or the whole schema,
        never a half-made one.
        """
        if not cls._needs_migration(db, path):
            return
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            if cls._needs_migration(db, path):
                MIGRATIONS.apply(db)  # each migration nests as a savepoint
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _needs_migration(db: Database, path: Path) -> bool:
        applied = {migration.name for migration in MIGRATIONS.applied(db)}
        unknown = applied - known_migration_names()
        if unknown:
            raise LocalIOError(
                f"state file {path} was written by a newer batchrun "
                f"(migrations {', '.join(sorted(unknown))}); upgrade batchrun to use it"
            )
        if db.table_names() and not applied and "batches" not in db.table_names():
            raise LocalIOError(f"{path} is an SQLite file but not a batchrun state database")
        return applied != known_migration_names()

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[RedactingConnection]:
        """One transition: all of it or none of it, with the events buffered since the last."""
        if durable:
            self._conn.execute("PRAGMA synchronous = FULL")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._write_pending_events()
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        finally:
            if durable:
                self._conn.execute("PRAGMA synchronous = NORMAL")

    # -- batches ----------------------------------------------------------------------------

    def find_batch(self, spec_name: str, run_key: str | None = None) -> BatchRecord | None:
        if run_key is None:
            row = self._conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM batches WHERE spec_name = ? "
                "ORDER BY id DESC LIMIT 1",
                (spec_name,),
            ).fetchone()
        else:
            row = self._conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM batches WHERE spec_name = ? AND run_key = ?",
                (spec_name, run_key),
            ).fetchone()
        return self._batch(row) if row else None

    def list_batches(self, spec_name: str) -> list[BatchRecord]:
        rows = self._conn.execute(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE spec_name = ? ORDER BY id", (spec_name,)
        ).fetchall()
        return [self._batch(row) for row in rows]

    def create_batch(self, spec_name: str, run_key: str, spec_path: str | None) -> BatchRecord:
        stamp = _ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO batches (spec_name, run_key, spec_path, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (spec_name, run_key, spec_path, stamp, stamp),
            )
        batch = self.find_batch(spec_name, run_key)
        assert batch is not None
        return batch

    def mark_batch(self, batch_id: int, *, finished: bool) -> None:
        stamp = _ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE batches SET updated_at = ?, finished_at = ? WHERE id = ?",
                (stamp, stamp if finished else None, batch_id),
            )

    def _batch(self, row: sqlite3.Row | tuple[Any, ...]) -> BatchRecord:
        id_, spec_name, run_key, spec_path, created_at, finished_at = row
        return BatchRecord(
            id=id_,
            spec_name=spec_name,
            run_key=run_key,
            spec_path=spec_path,
            created_at=_dt(created_at) or now_utc(),
            finished_at=_dt(finished_at),
        )

    # -- tasks ------------------------------------------------------------------------------

    def start_round(self, batch_id: int, tasks: Sequence[TaskDefinition]) -> None:
        """Bring the stored tasks in line with the spec at the start of an `apply`.

        New tasks become pending. A succeeded task whose definition changed is re-run. A failed
        or canceled task gets a fresh round of attempts. A task with a run in flight keeps its
        old hash, so that once that run ends the change is still seen and acted on.
        """
        stamp = _ts(now_utc())
        with self._transaction() as conn:
            stored = {
                row[0]: (row[1], row[2])
                for row in conn.execute(
                    "SELECT task_id, state, content_hash FROM tasks WHERE batch_id = ?",
                    (batch_id,),
                )
            }
            inserts: list[tuple[Any, ...]] = []
            for task in tasks:
                previous = stored.get(task.id)
                if previous is None:
                    inserts.append(
                        (
                            batch_id,
                            task.id,
                            task.position,
                            task.kind,
                            task.content_hash,
                            TaskState.PENDING,
                            stamp,
                        )
                    )
                    continue
                state, old_hash = previous
                in_flight = state in (TaskState.SUBMITTING, TaskState.RUNNING)
                keeps_round = old_hash == task.content_hash and state in (
                    TaskState.SUCCEEDED,
                    TaskState.PENDING,
                    TaskState.RETRY_WAIT,
                )
                if in_flight or keeps_round:
                    conn.execute(
                        "UPDATE tasks SET position = ? WHERE batch_id = ? AND task_id = ?",
                        (task.position, batch_id, task.id),
                    )
                else:
                    # changed since it succeeded, or failed/canceled: a fresh round of attempts
                    conn.execute(
                        "UPDATE tasks SET position = ?, kind = ?, content_hash = ?, state = ?, "
                        "round_start = attempts, next_attempt_at = NULL, failure_reason = NULL, "
                        "finished_at = NULL, exported = 0, updated_at = ? "
                        "WHERE batch_id = ? AND task_id = ?",
                        (
                            task.position,
                            task.kind,
                            task.content_hash,
                            TaskState.PENDING,
                            stamp,
                            batch_id,
                            task.id,
                        ),
                    )
            conn.executemany(
                "INSERT INTO tasks (batch_id, task_id, position, kind, content_hash, state, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )

    def scheduling_rows(self, batch_id: int) -> dict[str, SchedulingRow]:
        rows = self._conn.execute(
            "SELECT task_id, state, content_hash, attempts, round_start, next_attempt_at, "
            "exported FROM tasks WHERE batch_id = ?",
            (batch_id,),
        )
        return {
            row[0]: SchedulingRow(
                task_id=row[0],
                state=TaskState(row[1]),
                content_hash=row[2],
                attempts=row[3],
                round_start=row[4],
                next_attempt_at=_dt(row[5]),
                exported=bool(row[6]),
            )
            for row in rows
        }

    def task_records(
        self, batch_id: int, task_ids: Iterable[str] | None = None
    ) -> Iterator[TaskRecord]:
        """Tasks in spec order (all of them, or just `task_ids`)."""
        if task_ids is None:
            cursor = self._conn.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks WHERE batch_id = ? ORDER BY position",
                (batch_id,),
            )
            for row in cursor:
                yield _task_record(row)
            return
        wanted = list(task_ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks WHERE batch_id = ? AND task_id IN ({marks}) "
                "ORDER BY position",
                (batch_id, *chunk),
            ).fetchall()
            for row in rows:
                yield _task_record(row)

    def task_record(self, batch_id: int, task_id: str) -> TaskRecord | None:
        return next(self.task_records(batch_id, [task_id]), None)

    def task_state(self, batch_id: int, task_id: str) -> TaskState | None:
        row = self._conn.execute(
            "SELECT state FROM tasks WHERE batch_id = ? AND task_id = ?", (batch_id, task_id)
        ).fetchone()
        return TaskState(row[0]) if row else None

    def task_views(self, batch_id: int) -> dict[str, StoredTaskView]:
        rows = self._conn.execute(
            "SELECT task_id, content_hash, state, attempts, run_id, last_status FROM tasks "
            "WHERE batch_id = ?",
            (batch_id,),
        )
        return {row[0]: StoredTaskView(*row) for row in rows}

    def count_by_state(self, batch_id: int) -> dict[str, int]:
        rows = self._conn.execute(
            "SELECT state, COUNT(*) FROM tasks WHERE batch_id = ? GROUP BY state", (batch_id,)
        )
        return {state: count for state, count in rows}

    # -- attempts ---------------------------------------------------------------------------

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
        looked up by its key before anything is submitted again.
        """
        stamp = now_utc()
        with self._transaction(durable=True) as conn:
            (number,) = conn.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM attempts "
                "WHERE batch_id = ? AND task_id = ?",
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
                    _dumps(request),
                    reserved_steps,
                    _ts(stamp),
                ),
            )
            conn.execute(
                "UPDATE tasks SET state = ?, attempts = attempts + 1, next_attempt_at = NULL, "
                "started_at = COALESCE(started_at, ?), updated_at = ? "
                "WHERE batch_id = ? AND task_id = ?",
                (TaskState.SUBMITTING, _ts(stamp), _ts(stamp), batch_id, task_id),
            )
            self._spend(conn, batch_id, runs=1, steps=reserved_steps)
            attempt_id = cursor.lastrowid
        record = self.attempt(attempt_id)
        assert record is not None
        return record

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
        stamp = _ts(now_utc())
        with self._transaction() as conn:
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
        """No run exists for this attempt: it costs nothing and does not count as a try.

        `final` marks the task failed (the server refused the request itself: 400/422);
        otherwise the task goes back to pending and will be submitted again.
        """
        stamp = _ts(now_utc())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET phase = ?, failure_reason = ?, finished_at = ? WHERE id = ?",
                (AttemptPhase.NOT_CREATED, reason, stamp, attempt.id),
            )
            self._spend(conn, batch_id, runs=-1, steps=-attempt.reserved_steps)
            if final:
                conn.execute(
                    "UPDATE tasks SET state = ?, attempts = attempts - 1, failure_reason = ?, "
                    "finished_at = ?, exported = 0, updated_at = ? "
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
        self, attempt: AttemptRecord, *, batch_id: int, status: str, step_count: int | None
    ) -> None:
        stamp = _ts(now_utc())
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
        outcome: TaskOutcome,
    ) -> None:
        """The run reached a final status: record it and the task's next state together."""
        stamp = now_utc()
        steps = step_count or 0
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET phase = ?, status = ?, step_count = ?, failure_reason = ?, "
                "response_json = ?, finished_at = ? WHERE id = ?",
                (
                    AttemptPhase.FINISHED,
                    status,
                    step_count,
                    failure_reason,
                    _dumps(response) if response is not None else None,
                    _ts(stamp),
                    attempt.id,
                ),
            )
            self._spend(conn, batch_id, runs=0, steps=steps - attempt.reserved_steps)
            # The final read's app link wins: a skyvern-1.0 create answer links to /runs/,
            # later reads to /tasks/.
            common = (
                "last_status = ?, step_count = ?, total_steps = total_steps + ?, "
                "run_response_json = ?, updated_at = ?, app_url = COALESCE(?, app_url)"
            )
            common_args = (
                status,
                step_count,
                steps,
                _dumps(response) if response is not None else None,
                _ts(stamp),
                response.get("app_url") if response else None,
            )
            key = (batch_id, attempt.task_id)
            match outcome:
                case Succeeded(output, verdict, validation_error):
                    conn.execute(
                        f"UPDATE tasks SET state = ?, {common}, output_json = ?, "
                        "output_verdict = ?, validation_error = ?, failure_reason = NULL, "
                        "finished_at = ?, exported = 0 WHERE batch_id = ? AND task_id = ?",
                        (
                            TaskState.SUCCEEDED,
                            *common_args,
                            _dumps(output),
                            verdict,
                            validation_error,
                            _ts(stamp),
                            *key,
                        ),
                    )
                case RetryLater(next_at, reason):
                    conn.execute(
                        f"UPDATE tasks SET state = ?, {common}, failure_reason = ?, "
                        "next_attempt_at = ? WHERE batch_id = ? AND task_id = ?",
                        (TaskState.RETRY_WAIT, *common_args, reason, _ts(next_at), *key),
                    )
                case Failed(reason) | Canceled(reason):
                    state = TaskState.FAILED if isinstance(outcome, Failed) else TaskState.CANCELED
                    conn.execute(
                        f"UPDATE tasks SET state = ?, {common}, failure_reason = ?, "
                        "finished_at = ?, exported = 0 WHERE batch_id = ? AND task_id = ?",
                        (state, *common_args, reason, _ts(stamp), *key),
                    )

    def record_output_check(
        self, batch_id: int, task_id: str, *, output: Any, verdict: str | None, error: str | None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE tasks SET output_json = ?, output_verdict = ?, validation_error = ? "
                "WHERE batch_id = ? AND task_id = ?",
                (_dumps(output), verdict, error, batch_id, task_id),
            )

    def cancel_task(self, batch_id: int, task_id: str, reason: str) -> None:
        """Mark a task canceled and close its open attempts (their runs were canceled)."""
        stamp = _ts(now_utc())
        with self._transaction() as conn:
            # Their runs' real step counts are unknown: their reserved steps stay counted as
            # spent, the safe side of a budget.
            conn.execute(
                "UPDATE attempts SET phase = ?, status = COALESCE(status, 'canceled'), "
                "finished_at = ? WHERE batch_id = ? AND task_id = ? AND phase IN (?, ?, ?)",
                (AttemptPhase.FINISHED, stamp, batch_id, task_id, *OPEN_PHASES),
            )
            conn.execute(
                "UPDATE tasks SET state = ?, failure_reason = ?, finished_at = ?, exported = 0, "
                "next_attempt_at = NULL, updated_at = ? WHERE batch_id = ? AND task_id = ?",
                (TaskState.CANCELED, reason, stamp, stamp, batch_id, task_id),
            )

    def attempt(self, attempt_id: int) -> AttemptRecord | None:
        row = self._conn.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,)
        ).fetchone()
        return _attempt_record(row) if row else None

    def open_attempts(self, batch_id: int) -> list[AttemptRecord]:
        rows = self._conn.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE batch_id = ? AND phase IN (?, ?, ?) "
            "ORDER BY id",
            (batch_id, *OPEN_PHASES),
        ).fetchall()
        return [_attempt_record(row) for row in rows]

    def attempts_for_task(self, batch_id: int, task_id: str) -> list[AttemptRecord]:
        rows = self._conn.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE batch_id = ? AND task_id = ? "
            "ORDER BY number",
            (batch_id, task_id),
        ).fetchall()
        return [_attempt_record(row) for row in rows]

    def known_run_ids(self, batch_id: int) -> set[str]:
        """Run ids already claimed by some attempt: a lookup must never adopt one twice."""
        rows = self._conn.execute(
            "SELECT run_id FROM attempts WHERE batch_id = ? AND run_id IS NOT NULL", (batch_id,)
        )
        return {row[0] for row in rows}

    def usage(self, batch_id: int) -> Usage:
        """Runs created (or possibly created), and steps spent by finished runs plus those
        reserved by runs in flight: kept by every transition, so reading it is cheap."""
        runs, steps = self._conn.execute(
            "SELECT runs_used, steps_used FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        return Usage(runs=runs, steps=steps)

    @staticmethod
    def _spend(conn: RedactingConnection, batch_id: int, *, runs: int, steps: int) -> None:
        conn.execute(
            "UPDATE batches SET runs_used = runs_used + ?, steps_used = steps_used + ? "
            "WHERE id = ?",
            (runs, steps, batch_id),
        )

    # -- results ----------------------------------------------------------------------------

    def record_export(
        self,
        batch_id: int,
        task_id: str,
        *,
        files: list[dict[str, Any]],
        timeline: list[Any] | None,
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE tasks SET files_json = ?, timeline_json = ?, exported = 1 "
                "WHERE batch_id = ? AND task_id = ?",
                (
                    _dumps(files),
                    _dumps(timeline) if timeline is not None else None,
                    batch_id,
                    task_id,
                ),
            )

    # -- events -----------------------------------------------------------------------------

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
                _dumps(event.data) if event.data else None,
            )
        )

    def flush_events(self) -> None:
        if self._pending_events:
            with self._transaction():
                pass

    def _write_pending_events(self) -> None:
        if self._pending_events:
            self._conn.executemany(
                "INSERT INTO events (batch_id, ts, kind, level, task_id, attempt, run_id, status, "
                "message, data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._pending_events,
            )
            self._pending_events.clear()

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
        keys = ("ts", "kind", "level", "task", "attempt", "run_id", "status", "message", "data")
        return [dict(zip(keys, (*row[:8], _loads(row[8])), strict=True)) for row in rows]


_BATCH_COLUMNS = "id, spec_name, run_key, spec_path, created_at, finished_at"

_TASK_COLUMNS = (
    "task_id, position, kind, state, attempts, run_id, last_status, failure_reason, output_json, "
    "output_verdict, validation_error, step_count, total_steps, started_at, finished_at, app_url, "
    "run_response_json, timeline_json, files_json, content_hash, exported"
)


def _task_record(row: tuple[Any, ...]) -> TaskRecord:
    (
        task_id,
        position,
        kind,
        state,
        attempts,
        run_id,
        last_status,
        failure_reason,
        output_json,
        verdict,
        validation_error,
        step_count,
        total_steps,
        started_at,
        finished_at,
        app_url,
        response_json,
        timeline_json,
        files_json,
        content_hash,
        exported,
    ) = row
    return TaskRecord(
        task_id=task_id,
        position=position,
        kind=kind,
        state=state,
        attempts=attempts,
        run_id=run_id,
        last_status=last_status,
        failure_reason=failure_reason,
        output=_loads(output_json),
        output_verdict=verdict,
        validation_error=validation_error,
        step_count=step_count,
        total_steps=total_steps,
        started_at=_dt(started_at),
        finished_at=_dt(finished_at),
        app_url=app_url,
        run_response=_loads(response_json),
        timeline=_loads(timeline_json),
        files=_loads(files_json) or [],
        content_hash=content_hash,
        exported=bool(exported),
    )


_ATTEMPT_COLUMNS = (
    "id, task_id, number, attempt_key, phase, kind, request_json, reserved_steps, run_id, "
    "run_type, status, step_count, failure_reason, prepared_at, accepted_at, finished_at"
)


def _attempt_record(row: tuple[Any, ...]) -> AttemptRecord:
    (
        id_,
        task_id,
        number,
        key,
        phase,
        kind,
        request_json,
        reserved,
        run_id,
        run_type,
        status,
        step_count,
        failure_reason,
        prepared_at,
        accepted_at,
        finished_at,
    ) = row
    return AttemptRecord(
        id=id_,
        task_id=task_id,
        number=number,
        attempt_key=key,
        phase=AttemptPhase(phase),
        kind=kind,
        request=json.loads(request_json),
        reserved_steps=reserved,
        run_id=run_id,
        run_type=run_type,
        status=status,
        step_count=step_count,
        failure_reason=failure_reason,
        prepared_at=_dt(prepared_at) or now_utc(),
        accepted_at=_dt(accepted_at),
        finished_at=_dt(finished_at),
    )
