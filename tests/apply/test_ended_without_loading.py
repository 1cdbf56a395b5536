"""`apply` of a batch that has ended proves it from the state, without loading the spec,
and only when nothing the spec read has changed (batchrun/ops/unchanged.py).

Whether the spec was loaded shows in the `batch_started` event (`spec_loaded: false` when it
was not); the referee of what was paid is the simulator's count of runs created per task.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.decide import Action, RetryRequest
from batchrun.ops.context import BatchContext, BatchLocation
from batchrun.ops.status import status
from batchrun.spec import load_spec

from .conftest import Workspace

SITE = "https://shop.example"


def _spec(workspace: Workspace, **top: Any) -> Path:
    (workspace.root / "rows.csv").write_text("sku,page\na,1\nb,2\nc,3\n")
    (workspace.root / "schema.json").write_text('{"type": "object"}')
    return workspace.spec(
        [
            {
                "id": "item-{sku}",
                "for_each": {"csv": "rows.csv"},
                "prompt": "Price of {sku} for ${SHOP_REGION}",
                "url": f"{SITE}/{{page}}",
                "data_extraction_schema": "schema.json",
            }
        ],
        **top,
    )


def _apply(workspace: Workspace, spec: Path, sim: Any, region: str = "eu") -> dict[str, Any]:
    """`apply` with JSON logs: its exit code and its batch_started event."""
    env = {**workspace.env(sim), "SHOP_REGION": region}
    result = CliRunner().invoke(
        cli,
        ["apply", str(spec), "--api-url", sim.base_url, "--log-format", "json", "--no-report"],
        env=env,
        catch_exceptions=False,
    )
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    [started] = [e for e in events if e.get("kind") == "batch_started"]
    return {"exit_code": result.exit_code, "started": started, "output": result.output}


def _runs(sim: Any) -> int:
    return int(sim.stats()["runs_created"])


def _loaded(applied: dict[str, Any]) -> bool:
    return applied["started"]["data"]["spec_loaded"]


def _kill_once_runs_are_created(
    process: subprocess.Popen[str], sim: Any, runs: int, *, exported_in: Path | None = None
) -> None:
    """SIGKILL an `apply` once the server has created `runs` runs (some still in flight)
    and, with `exported_in` (a state file), once some task's results are written."""
    deadline = time.monotonic() + 60
    while _runs(sim) < runs or (exported_in is not None and not _exported(exported_in)):
        assert time.monotonic() < deadline, "apply never created its runs"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)


def _exported(state: Path) -> int:
    if not state.exists():
        return 0
    conn = sqlite3.connect(state, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM tasks WHERE exported = 1").fetchone()[0]
    finally:
        conn.close()


def test_an_ended_batch_is_not_loaded_again_and_says_the_same(simulator, workspace: Workspace):
    sim = simulator()
    spec = _spec(workspace)
    first = _apply(workspace, spec, sim)
    assert first["exit_code"] == 0 and _loaded(first)
    summary = json.loads(next(workspace.results.glob("*/*/summary.json")).read_text())

    second = _apply(workspace, spec, sim)  # records what the spec read (first sync did too)
    third = _apply(workspace, spec, sim)
    assert not _loaded(second) and not _loaded(third)
    assert third["exit_code"] == 0
    assert third["started"]["data"]["total"] == 3 and third["started"]["data"]["to_run"] == 0
    assert _runs(sim) == 3
    again = json.loads(next(workspace.results.glob("*/*/summary.json")).read_text())
    for key in ("total", "counts", "runs", "steps", "finished", "failed_tasks"):
        assert again[key] == summary[key], key


def test_a_touched_file_with_the_same_bytes_is_the_same_spec(simulator, workspace: Workspace):
    sim = simulator()
    spec = _spec(workspace)
    _apply(workspace, spec, sim)
    later = time.time() + 10
    for name in ("rows.csv", "schema.json", spec.name):
        os.utime(workspace.root / name, (later, later))
    assert not _loaded(_apply(workspace, spec, sim))


@pytest.mark.parametrize(
    "change",
    ["csv row", "environment variable", "schema file", "spec file"],
)
def test_any_change_to_what_the_spec_read_loads_it_and_acts(
    simulator, workspace: Workspace, change: str
):
    sim = simulator()
    spec = _spec(workspace)
    _apply(workspace, spec, sim)
    region = "eu"
    if change == "csv row":
        (workspace.root / "rows.csv").write_text("sku,page\na,1\nb,20\nc,3\n")
    elif change == "environment variable":
        region = "us"
    elif change == "schema file":
        (workspace.root / "schema.json").write_text('{"type": "object", "properties": {}}')
    else:
        spec.write_text(spec.read_text().replace("Price of", "Price of item"))

    applied = _apply(workspace, spec, sim, region)
    assert _loaded(applied) and applied["exit_code"] == 0
    assert _runs(sim) == (4 if change == "csv row" else 6)  # the changed tasks, once each
    # and once done again, the changed spec is the one remembered
    assert not _loaded(_apply(workspace, spec, sim, region))


def test_results_that_are_missing_or_unwritten_load_the_spec_and_are_written(
    simulator, workspace: Workspace
):
    sim = simulator()
    spec = _spec(workspace)
    _apply(workspace, spec, sim)
    [outputs] = workspace.results.glob("*/*/outputs.jsonl")
    outputs.unlink()
    applied = _apply(workspace, spec, sim)
    assert _loaded(applied) and len(outputs.read_text().splitlines()) == 3

    # a task whose results were never written (the process died first)
    with sqlite3.connect(workspace.state) as conn:
        conn.execute("UPDATE tasks SET exported = 0 WHERE task_id = 'item-b'")
    shutil_dir = outputs.parent / "tasks" / "item-b"
    for path in sorted(shutil_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    applied = _apply(workspace, spec, sim)
    assert _loaded(applied)
    assert any(shutil_dir.iterdir())
    assert _runs(sim) == 3


def test_run_options_that_ask_for_work_always_load_the_spec(simulator, workspace: Workspace):
    sim = simulator()
    spec = _spec(workspace)
    _apply(workspace, spec, sim)
    for extra in (["--retry-failed"], ["--only", "item-a"]):
        result = CliRunner().invoke(
            cli,
            ["apply", str(spec), "--api-url", sim.base_url, "--log-format", "json", *extra],
            env={**workspace.env(sim), "SHOP_REGION": "eu"},
            catch_exceptions=False,
        )
        started = [
            json.loads(line)
            for line in result.output.splitlines()
            if line.startswith("{") and '"batch_started"' in line
        ]
        assert started and started[0]["data"]["spec_loaded"] is True, extra


def test_a_request_changed_while_its_run_was_in_flight_runs_again_once_that_run_ended(
    simulator, workspace: Workspace
):
    """The resume that re-attaches a run of the old request must not let a later `apply`
    believe the task stands as the new spec has it."""
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 1.5}]})
    spec = workspace.spec([{"id": "a", "prompt": "Old", "url": f"{SITE}/a"}])
    _kill_once_runs_are_created(workspace.apply_process(spec, sim), sim, 1)

    spec.write_text(spec.read_text().replace("Old", "New"))
    assert workspace.apply(spec, sim).exit_code == 0  # re-attaches the old request's run
    assert _runs(sim) == 1
    assert workspace.apply(spec, sim).exit_code == 0  # now the new request is run
    assert _runs(sim) == 2
    applied = _apply(workspace, spec, sim)
    assert not _loaded(applied) and _runs(sim) == 2


def test_a_resume_builds_only_the_tasks_with_work_left(simulator, workspace: Workspace):
    """Killed near the end, the same command builds the unfinished tasks alone, pays for no
    run twice, and finishes the batch; then the batch is ended without loading."""
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/slow/*"}, "duration": 2.0},
                {"match": {"url": "*"}, "duration": 0.05},
            ]
        }
    )
    rows = [f"p{n},{'slow/' if n >= 20 else ''}{n}" for n in range(30)]
    (workspace.root / "rows.csv").write_text("sku,page\n" + "\n".join(rows) + "\n")
    spec = workspace.spec(
        [
            {
                "id": "item-{sku}",
                "for_each": {"csv": "rows.csv"},
                "prompt": "Price of {sku}",
                "url": f"{SITE}/{{page}}",
            }
        ]
    )
    process = workspace.apply_process(spec, sim)
    # On a loaded machine the fast runs may not all be exported yet: wait for one at least.
    _kill_once_runs_are_created(process, sim, 22, exported_in=workspace.state)

    resumed = _apply(workspace, spec, sim)
    data = resumed["started"]["data"]
    assert resumed["exit_code"] == 0, resumed["output"]
    assert data["total"] == 30 and data["spec_loaded"] is True
    assert 0 < data["tasks_built"] < 30 and data["to_run"] == data["tasks_built"]
    assert _runs(sim) == 30  # every task paid for once, the killed one's runs re-attached
    assert len(workspace.outputs()) == 30
    assert not _loaded(_apply(workspace, spec, sim))


def test_status_of_an_unchanged_spec_reads_the_state_alone_and_says_the_same(
    simulator, workspace: Workspace
):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/2"}, "outcomes": ["terminated"], "duration": 0.05},
                {"match": {"url": "*"}, "duration": 0.05},
            ]
        }
    )
    spec = _spec(workspace)
    assert _apply(workspace, spec, sim)["exit_code"] == 1
    # drop a task, so that the state holds a removed one too
    (workspace.root / "rows.csv").write_text("sku,page\na,1\nb,2\n")
    assert _apply(workspace, spec, sim)["exit_code"] == 1

    location = BatchLocation.of(
        load_spec(spec, environ={**os.environ, "SHOP_REGION": "eu"}), state=workspace.state
    )
    with BatchContext.open(location) as ctx:
        batch = ctx.instance(None)
        full = status(ctx, batch, retry=RetryRequest.of(retry_failed=True))
        proved = status(ctx, batch, retry=RetryRequest.of(retry_failed=True), spec_unchanged=True)
    assert proved.next_apply == full.next_apply and full.next_apply[Action.RETRY] == 1
    assert proved.summary == full.summary and proved.summary.removed == 1
    assert proved.listed == full.listed and proved.hidden == full.hidden

    env = {**workspace.env(None), "SHOP_REGION": "eu"}
    shown = CliRunner().invoke(cli, ["status", str(spec), "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["counts"]["failed"] == 1
