"""Group commit on a real state file: keys that begin together share one sync, every key is
committed and synced before `begin_attempt_grouped` returns, a failed transition is undone
alone, and other connections see the group once it is committed."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from batchrun.state import TaskSync, open_store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Task:
    id: str
    position: int


def _store_with_tasks(path: Path, count: int):  # type: ignore[no-untyped-def]
    store = open_store(path)
    batch = store.create_batch("batch", "r1", None)
    store.sync_tasks(batch.id, [TaskSync(f"t{i}", "insert", i, "task", "h") for i in range(count)])
    return store, batch


def _committed_keys(path: Path) -> set[str]:
    with sqlite3.connect(path) as other:  # another connection sees only what is committed
        return {row[0] for row in other.execute("SELECT attempt_key FROM attempts")}


async def test_keys_that_begin_together_share_one_sync(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "state.db"
    store, batch = _store_with_tasks(path, 20)
    syncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (syncs.append(fd), real_fsync(fd))[1])
    seen_committed: dict[str, bool] = {}

    async def begin(index: int) -> None:
        key = f"br-key{index:02d}"
        await store.begin_attempt_grouped(
            batch.id, f"t{index}", attempt_key=key, kind="task", request={}, reserved_steps=1
        )
        # The promise: when it returns, the key is committed (and synced) for anyone to see.
        seen_committed[key] = key in _committed_keys(path)

    with store.grouped_writes(sync_window_s=0.02):
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(begin, index)
    assert all(seen_committed.values()) and len(seen_committed) == 20
    assert 1 <= len(syncs) <= 3  # one WAL sync (its directory's too, once) for twenty keys
    assert store.usage(batch.id).runs == 20
    store.close()


async def test_a_failed_transition_is_undone_alone_and_the_group_commits(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store, batch = _store_with_tasks(path, 2)
    with store.grouped_writes(window_s=60):
        first = await store.begin_attempt_grouped(
            batch.id, "t0", attempt_key="br-one", kind="task", request={}, reserved_steps=1
        )
        store.attempt_unknown(first, "lost")  # grouped, not yet committed
        with pytest.raises(sqlite3.IntegrityError), store._transaction() as conn:
            conn.execute("UPDATE tasks SET position = 1 WHERE task_id = 't0'")
            conn.execute("INSERT INTO attempts (id) VALUES (NULL)")  # NOT NULL columns
        assert _committed_keys(path) == {"br-one"}
        assert store.attempt(first.id).phase == "unknown"  # type: ignore[union-attr]
    # The group ended: what it held is committed, the failed transition is not there.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT phase FROM attempts").fetchone() == ("unknown",)
        assert other.execute("SELECT position FROM tasks WHERE task_id = 't0'").fetchone() == (0,)
    store.close()


async def test_a_quiet_group_is_committed_by_its_timer(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store, batch = _store_with_tasks(path, 1)
    with store.grouped_writes(window_s=0.05):
        attempt = await store.begin_attempt_grouped(
            batch.id, "t0", attempt_key="br-quiet", kind="task", request={}, reserved_steps=1
        )
        store.attempt_unknown(attempt, "lost")
        await anyio.sleep(0.2)  # nothing else happens: the timer commits
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT phase FROM attempts").fetchone() == ("unknown",)
    store.close()
