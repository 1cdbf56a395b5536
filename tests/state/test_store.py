"""The state store: transitions, recovery views, locking and file handling on a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from batchrun.errors import BatchLockedError, LocalIOError
from batchrun.scheduler.outcomes import Failed, RetryLater, Succeeded, task_end
from batchrun.state import (
    AttemptPhase,
    BatchLock,
    TaskState,
    TaskSync,
    now_utc,
    open_store,
)


@dataclass(frozen=True)
class FakeTask:
    id: str
    position: int
    kind: str = "task"
    content_hash: str = "h1"


def _sync(store, batch, tasks, change: str = "insert") -> None:
    store.sync_tasks(
        batch.id, [TaskSync(t.id, change, t.position, t.kind, t.content_hash) for t in tasks]
    )


def _store(tmp_path: Path):
    store = open_store(tmp_path / "state.db")
    batch = store.create_batch("prices", "r1", "jobs/prices.yaml")
    return store, batch


def test_new_tasks_are_pending_and_listed_in_spec_order(tmp_path: Path) -> None:
    store, batch = _store(tmp_path)
    _sync(store, batch, [FakeTask("b", 1), FakeTask("a", 0)])
    assert [r.task_id for r in store.task_records(batch.id)] == ["a", "b"]
    assert store.count_by_state(batch.id) == {"pending": 2}


def test_attempt_lifecycle_to_success(tmp_path: Path) -> None:
    store, batch = _store(tmp_path)
    _sync(store, batch, [FakeTask("a", 0)])
    attempt = store.begin_attempt(
        batch.id, "a", attempt_key="br-k1", kind="task", request={"prompt": "p"}, reserved_steps=10
    )
    assert attempt.phase is AttemptPhase.PREPARED and attempt.number == 1
    assert store.scheduling_rows(batch.id)["a"].state is TaskState.SUBMITTING
    assert store.usage(batch.id).runs == 1 and store.usage(batch.id).steps == 10

    store.attempt_accepted(
        attempt,
        batch_id=batch.id,
        run_id="tsk_1",
        run_type="task_v1",
        status="queued",
        app_url="http://app/tsk_1",
    )
    assert [a.run_id for a in store.open_attempts(batch.id)] == ["tsk_1"]
    store.attempt_progress(attempt, batch_id=batch.id, status="running", step_count=2)
    store.finish_attempt(
        attempt,
        batch_id=batch.id,
        status="completed",
        step_count=4,
        failure_reason=None,
        response={"run_id": "tsk_1", "status": "completed"},
        end=task_end(Succeeded({"price": 3}, "valid", None)),
    )
    record = store.task_record(batch.id, "a")
    assert record is not None
    assert (record.state, record.output, record.total_steps, record.run_id) == (
        "succeeded",
        {"price": 3},
        4,
        "tsk_1",
    )
    assert store.open_attempts(batch.id) == []
    assert store.usage(batch.id).steps == 4  # the reservation is replaced by the real count


def test_a_begun_attempt_is_the_record_a_read_gives_secrets_scrubbed(tmp_path: Path) -> None:
    # The record is built without reading the row back: it must hold what the file holds.
    store, batch = _store(tmp_path)
    store.redact(["sekrit-value"])
    _sync(store, batch, [FakeTask("a", 0)])
    attempt = store.begin_attempt(
        batch.id,
        "a",
        attempt_key="br-k1",
        kind="task",
        request={"prompt": "use sekrit-value", "n": [1, {"k": "é"}]},
        reserved_steps=7,
    )
    assert attempt == store.attempt(attempt.id)
    assert attempt.request == {"prompt": "use ***", "n": [1, {"k": "é"}]}


def test_not_created_attempt_does_not_count_as_a_try(tmp_path: Path) -> None:
    store, batch = _store(tmp_path)
    _sync(store, batch, [FakeTask("a", 0)])
    attempt = store.begin_attempt(
        batch.id, "a", attempt_key="br-k1", kind="task", request={}, reserved_steps=0
    )
    store.attempt_not_created(attempt, batch_id=batch.id, reason="429", final=False)
    row = store.scheduling_rows(batch.id)["a"]
    assert (row.state, row.attempts) == (TaskState.PENDING, 0)
    assert store.usage(batch.id).runs == 0
    second = store.begin_attempt(
        batch.id, "a", attempt_key="br-k2", kind="task", request={}, reserved_steps=0
    )
    assert second.number == 1  # attempt N is the N-th run created: nothing was created


def test_failed_task_gets_a_fresh_round_and_changed_success_reruns(tmp_path: Path) -> None:
    store, batch = _store(tmp_path)
    _sync(store, batch, [FakeTask("a", 0), FakeTask("b", 1)])
    for task_id, outcome in (("a", Failed("boom", "failed")), ("b", Succeeded({}, None, None))):
        attempt = store.begin_attempt(
            batch.id,
            task_id,
            attempt_key=f"k-{task_id}",
            kind="task",
            request={},
            reserved_steps=0,
        )
        store.attempt_accepted(
            attempt,
            batch_id=batch.id,
            run_id=f"r-{task_id}",
            run_type=None,
            status="queued",
            app_url=None,
        )
        store.finish_attempt(
            attempt,
            batch_id=batch.id,
            status="failed",
            step_count=1,
            failure_reason="x",
            response=None,
            end=task_end(outcome),
        )
    _sync(store, batch, [FakeTask("a", 0), FakeTask("b", 1, content_hash="h2")], "new_round")
    rows = store.scheduling_rows(batch.id)
    assert rows["a"].state is TaskState.PENDING and rows["a"].tries_this_round == 0
    assert rows["a"].attempts == 1  # attempt numbers never restart
    assert rows["b"].state is TaskState.PENDING
    assert store.stored_tasks(batch.id)["b"].content_hash == "h2"


def test_retry_wait_keeps_its_round_across_applies(tmp_path: Path) -> None:
    store, batch = _store(tmp_path)
    _sync(store, batch, [FakeTask("a", 0)])
    attempt = store.begin_attempt(
        batch.id, "a", attempt_key="k", kind="task", request={}, reserved_steps=0
    )
    due = now_utc() + timedelta(seconds=30)
    store.finish_attempt(
        attempt,
        batch_id=batch.id,
        status="failed",
        step_count=1,
        failure_reason="x",
        response=None,
        end=task_end(RetryLater(due, "failed")),
    )
    _sync(store, batch, [FakeTask("a", 0)], "keep")
    row = store.scheduling_rows(batch.id)["a"]
    assert row.state is TaskState.RETRY_WAIT and row.tries_this_round == 1
    assert row.next_attempt_at == due


def test_events_are_written_with_the_next_transition(tmp_path: Path) -> None:
    from batchrun.events import BatchEvent, EventKind

    store, batch = _store(tmp_path)
    store.add_event(batch.id, BatchEvent(EventKind.WARNING, "prices", "hello", task="a"))
    assert store.events(batch.id) == []
    _sync(store, batch, [FakeTask("a", 0)])
    [event] = store.events(batch.id)
    assert (event["kind"], event["task"], event["message"]) == ("warning", "a", "hello")


def test_a_file_that_is_not_a_state_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LocalIOError, match="state file"):
        open_store(path)
    with pytest.raises(LocalIOError, match="directory"):
        open_store(tmp_path)


def test_a_state_file_from_a_newer_batchrun_is_refused(tmp_path: Path) -> None:
    open_store(tmp_path / "state.db").close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('batchrun', 'm999_future', 'x')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(LocalIOError, match="newer batchrun"):
        open_store(tmp_path / "state.db")


def test_second_lock_holder_is_refused_and_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    state_path = tmp_path / "state.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from batchrun.state import BatchLock
            BatchLock(Path({str(state_path)!r}), "prices", "r1").acquire()
            print("locked", flush=True)
            time.sleep(120)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(BatchLockedError, match=f"pid {holder.pid}"):
            BatchLock(state_path, "prices", "r1").acquire()
        # another batch instance is independent
        with BatchLock(state_path, "prices", "r2"):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with BatchLock(state_path, "prices", "r1"):
        pass


def test_a_state_file_from_the_first_schema_is_migrated_with_its_usage(tmp_path: Path) -> None:
    from sqlite_utils import Database

    from batchrun.state.schema import MIGRATIONS

    path = tmp_path / "state.db"
    old = Database(path)
    MIGRATIONS.apply(old, stop_before="m002_batch_usage_counters")
    old.execute(
        "INSERT INTO batches (id, spec_name, run_key, created_at, updated_at) "
        "VALUES (1, 'prices', 'r1', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
    )
    for number, phase, steps, reserved in (
        (1, "finished", 7, 10),
        (2, "accepted", None, 10),
        (3, "not_created", None, 10),
    ):
        old.execute(
            "INSERT INTO attempts (batch_id, task_id, number, attempt_key, phase, kind, "
            "request_json, reserved_steps, step_count, prepared_at) "
            "VALUES (1, 'a', ?, ?, ?, 'task', '{}', ?, ?, '2026-01-01T00:00:00+00:00')",
            [number, f"k{number}", phase, reserved, steps],
        )
    old.conn.commit()
    old.close()

    store = open_store(path)
    usage = store.usage(1)
    assert (usage.runs, usage.steps) == (2, 17)  # finished: its 7 steps; in flight: 10 reserved


_OPEN_AT_ONCE = """
import sys, time
from batchrun.state import open_store
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
store = open_store(sys.argv[1])
print(store.find_batch("prices"))
store.close()
"""


@pytest.mark.parametrize("old_schema", [False, True], ids=["new-file", "needs-migrating"])
def test_processes_opening_one_state_file_at_once_all_succeed(
    tmp_path: Path, old_schema: bool
) -> None:
    """`apply`, `status` and cron may open (and create, or migrate) the same file together."""
    from sqlite_utils import Database

    from batchrun.state.schema import MIGRATIONS

    path = tmp_path / "state.db"
    if old_schema:
        old = Database(path)
        MIGRATIONS.apply(old, stop_before="m002_batch_usage_counters")
        old.close()
    start = f"{time.time() + 1.5:.3f}"  # after every interpreter has started
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT_ONCE, str(path), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    for opener in openers:
        out, err = opener.communicate(timeout=60)
        assert (opener.returncode, out.strip()) == (0, "None"), err
    applied = [migration.name for migration in MIGRATIONS.applied(Database(path))]
    assert applied == [migration.name for migration in MIGRATIONS.pending(Database(":memory:"))]


def test_a_run_response_is_kept_once(tmp_path: Path) -> None:
    """A final attempt's response lives on the task only; a retried attempt keeps its own,
    since the task's is replaced by the next attempt's (the state stays small per task)."""
    store, batch = _store(tmp_path)
    _sync(store, batch, [FakeTask("a", 0)])
    responses = []
    for number, end in enumerate(
        (RetryLater(now_utc(), "failed"), Succeeded({"price": 3}, "valid", None)), start=1
    ):
        attempt = store.begin_attempt(
            batch.id, "a", attempt_key=f"k{number}", kind="task", request={}, reserved_steps=0
        )
        responses.append({"run_id": f"tsk_{number}", "status": "x" * 50})
        store.finish_attempt(
            attempt,
            batch_id=batch.id,
            status="completed",
            step_count=1,
            failure_reason=None,
            response=responses[-1],
            end=task_end(end),
        )
    stored = [row[0] for row in store._conn.execute("SELECT response_json FROM attempts")]
    assert stored[0] is not None and '"tsk_1"' in stored[0]
    assert stored[1] is None
    record = store.task_record(batch.id, "a")
    assert record is not None and record.run_response == responses[1]


def test_a_final_run_response_is_packed_scrubbed_and_read_back_unchanged(tmp_path: Path) -> None:
    """The task's run response is stored deflated (a few hundred bytes, not ~1.5 KB), with
    secrets masked before packing (the connection's own masking sees only strings); it reads
    back as the same dict, and a plain-text response of an older state file still reads."""
    store, batch = _store(tmp_path)
    store.redact(["hunter2-secret"])
    _sync(store, batch, [FakeTask("a", 0)])
    attempt = store.begin_attempt(
        batch.id, "a", attempt_key="k1", kind="task", request={}, reserved_steps=0
    )
    response = {
        "run_id": "tsk_1",
        "status": "completed",
        "output": {"note": "hunter2-secret"},
        "run_request": {"prompt": "p", "url": "https://x", "title": None, "max_steps": None},
        "failure_reason": None,
    }
    store.finish_attempt(
        attempt,
        batch_id=batch.id,
        status="completed",
        step_count=1,
        failure_reason=None,
        response=response,
        end=task_end(Succeeded({"price": 3}, "valid", None)),
    )
    [stored] = [row[0] for row in store._conn.execute("SELECT run_response_json FROM tasks")]
    assert isinstance(stored, bytes) and len(stored) < len(json.dumps(response))
    record = store.task_record(batch.id, "a")
    assert record is not None
    assert record.run_response == {**response, "output": {"note": "***"}}
    store._conn.execute("UPDATE tasks SET run_response_json = ?", (json.dumps(response),))
    record = store.task_record(batch.id, "a")
    assert record is not None and record.run_response["run_id"] == "tsk_1"
