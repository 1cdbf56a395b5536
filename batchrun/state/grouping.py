"""Group commit: many transitions in one transaction, many attempt keys in one sync.

Committing each transition, and syncing each attempt key to disk on its own, cost `apply`
about 2 ms of CPU and one fsync per task. While `grouped_writes` is active:

- a transition opens the group's transaction if none is open (BEGIN IMMEDIATE) and runs in a
  savepoint of it, so a transition that fails is undone alone;
- the group is committed at the event loop's next turn (`window_s` = 0: the transitions
  of one turn share a transaction) or when it is `window_s` old, checked by each transition
  and by a timer, so that the write lock is never held for long: `batchrun cancel` writes
  to the same file while `apply` runs, and must not wait behind a long group (nor `apply`
  miss, for a long while, the cancellations it wrote);
- a group is also committed when a caller needs a sync, and when the group ends;
- `sync()` returns once everything written so far is committed and on disk. Callers that
  arrive within `sync_window_s` of each other share one commit and one fsync of the WAL:
  each awaits the same future, resolved (or failed) by that one commit.

The durability promise is unchanged: `begin_attempt_grouped` writes the key, awaits `sync()`
and only then returns, so its create request can go out.

Why fsync the WAL ourselves: SQLite refuses to change `synchronous` inside a transaction,
and the group's transaction was opened before anyone knew a key would join it. In WAL mode a
commit at `synchronous=NORMAL` has written its frames to the -wal file; an fsync of that
file afterwards is exactly what `synchronous=FULL` would have done at the commit. The fsync
runs in a thread, so the keys written meanwhile gather into the next group.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SAVEPOINT = "batchrun_step"
SYNC_WINDOW_ENV = "BATCHRUN_GROUP_SYNC_WINDOW_S"
# Long enough for the submissions of one burst of freed slots to share a sync, short next to
# a create request's own round trip.
DEFAULT_SYNC_WINDOW_S = 0.003


class GroupedWrites:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._raw = conn
        self._wal_path = Path(f"{path}-wal")
        self._wal_fd: int | None = None
        self.grouping = False
        self._window_s = 0.0
        self._sync_window_s = DEFAULT_SYNC_WINDOW_S
        self._group_started: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._sync_waiters: asyncio.Future[None] | None = None
        self._group_error: BaseException | None = None

    @contextmanager
    def grouped_writes(
        self, *, window_s: float = 0.0, sync_window_s: float | None = None
    ) -> Iterator[None]:
        """Group transitions and syncs while inside (call it from the event loop).

        `BATCHRUN_GROUP_SYNC_WINDOW_S` widens the sync window: the crash tests use it to land
        their SIGKILLs inside a group of keys being written.
        """
        if sync_window_s is None:
            sync_window_s = float(os.environ.get(SYNC_WINDOW_ENV, DEFAULT_SYNC_WINDOW_S))
        self._loop = asyncio.get_running_loop()
        self._window_s, self._sync_window_s = window_s, sync_window_s
        self.grouping = True
        try:
            yield
        finally:
            self.grouping = False
            self.commit_group()
            self._loop = None

    @contextmanager
    def _grouped_step(self) -> Iterator[None]:
        self._raise_group_error()
        if self._group_started is None:
            self._raw.execute("BEGIN IMMEDIATE")
            self._group_started = time.monotonic()
            if self._loop is not None:
                self._timer = self._loop.call_later(self._window_s, self._commit_on_timer)
        self._raw.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            yield
        except BaseException:
            self._raw.execute(f"ROLLBACK TO {_SAVEPOINT}")
            self._raw.execute(f"RELEASE {_SAVEPOINT}")
            raise
        self._raw.execute(f"RELEASE {_SAVEPOINT}")
        if self._window_s and time.monotonic() - self._group_started >= self._window_s:
            self.commit_group()

    async def sync(self) -> None:
        """Return once everything written so far is committed and synced to disk."""
        if not self.grouping or self._loop is None:
            self.commit_group()
            self._fsync_wal()
            return
        waiters = self._sync_waiters
        if waiters is None:
            waiters = self._sync_waiters = self._loop.create_future()
            self._loop.call_later(self._sync_window_s, self._commit_on_timer)
        # Shielded: a caller canceled while waiting must not cancel the others' commit.
        await asyncio.shield(waiters)

    def commit_group(self) -> None:
        """Commit the open group, if any, and sync it when someone waits for that."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiters, self._sync_waiters = self._sync_waiters, None
        try:
            if self._group_started is not None:
                self._group_started = None
                self._raw.execute("COMMIT")
            if waiters is not None:
                if self.grouping and self._loop is not None:
                    self._fsync_in_background(waiters, self._loop)
                    return
                self._fsync_wal()
        except BaseException as error:
            if self._raw.in_transaction:
                self._raw.execute("ROLLBACK")
            if waiters is not None and not waiters.done():
                waiters.set_exception(error)
                waiters.exception()  # retrieved here too: it is reported to every caller
            raise
        if waiters is not None and not waiters.done():
            waiters.set_result(None)

    def _fsync_in_background(
        self, waiters: asyncio.Future[None], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Sync the committed group in a thread: the event loop goes on, and the keys written
        meanwhile gather into the next group (what makes groups grow under load)."""
        fd = self._wal_descriptor()
        if fd is None:
            waiters.set_result(None)
            return

        def settle(done: asyncio.Future[None]) -> None:
            if waiters.done():
                return
            error = done.exception()
            if error is not None:
                waiters.set_exception(error)
                waiters.exception()  # retrieved here too: it is reported to every caller
            else:
                waiters.set_result(None)

        loop.run_in_executor(None, os.fsync, fd).add_done_callback(settle)

    def close_group(self) -> None:
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None

    def _commit_on_timer(self) -> None:
        # On the event loop, outside any caller: an error goes to the callers waiting for a
        # sync, or else to the next transition.
        waited = self._sync_waiters is not None
        try:
            self.commit_group()
        except Exception as error:
            if not waited:
                self._group_error = error

    def _raise_group_error(self) -> None:
        if self._group_error is not None:
            error, self._group_error = self._group_error, None
            raise error

    def _fsync_wal(self) -> None:
        fd = self._wal_descriptor()
        if fd is not None:
            os.fsync(fd)

    def _wal_descriptor(self) -> int | None:
        if self._wal_fd is None:
            if not self._wal_path.exists():
                return None  # nothing was ever written through the WAL
            self._wal_fd = os.open(self._wal_path, os.O_RDONLY)
            # The -wal file's own directory entry, once: it may have just been created.
            directory = os.open(self._wal_path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return self._wal_fd
