"""The light reads behind the results tables: the same rows as full task records, and a
fingerprint that changes exactly when the tables would."""

from __future__ import annotations

from pathlib import Path

from batchrun.export.tables import task_row
from batchrun.scheduler.outcomes import Succeeded, task_end
from batchrun.state import TaskSync, open_store


def _finished_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "state.db")
    batch = store.create_batch("batch", "r1", None)
    store.sync_tasks(batch.id, [TaskSync(f"t{i}", "insert", i, "task", "h") for i in range(3)])
    attempt = store.begin_attempt(
        batch.id, "t1", attempt_key="k1", kind="task", request={"a": 1}, reserved_steps=0
    )
    store.attempt_accepted(
        attempt, batch_id=batch.id, run_id="tsk_1", run_type="task_v2", status="queued",
        app_url="https://app/1",
    )  # fmt: skip
    store.finish_attempt(
        attempt,
        batch_id=batch.id,
        status="completed",
        step_count=2,
        failure_reason=None,
        response={"run_id": "tsk_1", "status": "completed", "big": "x" * 2000},
        end=task_end(Succeeded({"price": 3, "seller": {"name": "A"}}, "valid", None)),
    )
    store.record_export(
        batch.id, "t1", files=[{"filename": "a.pdf", "path": "files/a.pdf"}], artifacts=[],
        timeline=None,
    )  # fmt: skip
    return store, batch


def test_table_rows_give_the_same_table_as_full_records(tmp_path: Path) -> None:
    store, batch = _finished_store(tmp_path)
    light = [task_row(row) for row in store.table_rows(batch.id)]
    full = [task_row(record) for record in store.task_records(batch.id)]
    assert light == full
    assert light[1]["files"] == ["files/a.pdf"] and light[1]["output"]["price"] == 3


def test_the_fingerprint_follows_what_the_tables_show(tmp_path: Path) -> None:
    store, batch = _finished_store(tmp_path)
    first = store.tables_fingerprint(batch.id)
    assert store.tables_fingerprint(batch.id) == first  # stable
    store._conn.execute("UPDATE tasks SET timeline_json = '[1]', request_json = '{}'")
    assert store.tables_fingerprint(batch.id) == first  # columns the tables do not show
    store.record_output_check(batch.id, "t1", output={"price": 4}, verdict="valid", error=None)
    changed = store.tables_fingerprint(batch.id)
    assert changed != first
    store.record_tables_written(batch.id, changed, 123)
    assert store.tables_written(batch.id) == (changed, 123)
