"""Opening a state file and running transitions on it: each one all or nothing.

The file is in WAL mode so `status` and `plan` can read while `apply` writes, and
`synchronous=NORMAL` keeps ordinary transitions cheap; the one write that must survive a
power cut before anything is paid for (an attempt's key, written before its create request
goes out) is synced to disk before the request is sent.

Outside `apply` every transition is its own transaction. Inside it (`grouped_writes`) the
transitions of a short window share one transaction, each in its own savepoint (so each is
still all or nothing), and the keys of attempts share one sync (`sync`): a SIGKILL loses at
most the window's status changes, which recovery already handles (an attempt left prepared
is looked up by its key, a run left running is re-attached), never a key whose create
request went out. See batchrun/state/grouping.py.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from batchrun.errors import LocalIOError
from batchrun.state.grouping import GroupedWrites
from batchrun.state.redacting import RedactingConnection
from batchrun.state.schema import MIGRATIONS, known_migration_names

# How long opening a state file waits on other processes holding it (15 s, as the busy
# timeout of every statement after it).
_OPEN_PATIENCE_S = 15.0


def _is_lock_contention(exc: sqlite3.OperationalError) -> bool:
    message = str(exc)
    return "locked" in message or "busy" in message


class StoreCore(GroupedWrites):
    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._conn = RedactingConnection(db.conn)
        self._pending_events: list[tuple[Any, ...]] = []
        GroupedWrites.__init__(self, db.conn, path)

    def redact(self, secrets: Iterable[str]) -> None:
        """Never write these values either (adds to those already set, never replaces).

        Applied to every parameter of every write, so that a secret echoed back by the server
        (in a run's request echo, its output, its timeline) cannot reach the file either.
        """
        self._conn.add_secrets(secrets)

    @classmethod
    def open(cls, path: Path) -> Any:
        if path.is_dir():
            raise LocalIOError(f"state path {path} is a directory, not a state file")
        deadline = time.monotonic() + _OPEN_PATIENCE_S
        pause = 0.02
        while True:
            try:
                return cls(cls._connect(path), path)
            except sqlite3.OperationalError as exc:
                # Switching a new file to WAL, or WAL recovery after a crash, can answer
                # "locked" at once, without waiting on the busy timeout: another process
                # opening the same file in the same instant is not an error, so try again.
                if not _is_lock_contention(exc) or time.monotonic() + pause > deadline:
                    raise cls._unusable(path, exc) from None
            except sqlite3.DatabaseError as exc:
                raise cls._unusable(path, exc) from None
            except OSError as exc:
                raise LocalIOError(f"cannot use state file {path}: {exc.strerror or exc}") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    @classmethod
    def _connect(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            db = Database(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(_OPEN_PATIENCE_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            cls._migrate(db, path)
        except BaseException:
            conn.close()
            raise
        return db

    @staticmethod
    def _unusable(path: Path, exc: sqlite3.DatabaseError) -> LocalIOError:
        return LocalIOError(
            f"cannot use state file {path}: {exc} (is it a batchrun state database?)"
        )

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
        self.commit_group()
        self.close_group()
        self._conn.close()

    @contextmanager
    def _transaction(
        self, *, durable: bool = False, prompt: bool = False
    ) -> Iterator[RedactingConnection]:
        """One transition: all of it or none of it, with the events buffered since the last.

        `prompt`: when grouped, commit the group with it (without a sync), for a transition
        whose loss in a crash would lose track of something the server has (a run's id).
        """
        if self.grouping and not durable:
            with self._grouped_step():
                yield self._conn
                self._write_pending_events()
            if prompt:
                self.commit_group()
            return
        self.commit_group()  # a durable write also covers what the group holds
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

    def _write_pending_events(self) -> None:
        if self._pending_events:
            self._conn.executemany(
                "INSERT INTO events (batch_id, ts, kind, level, task_id, attempt, run_id, status, "
                "message, data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._pending_events,
            )
            self._pending_events.clear()
