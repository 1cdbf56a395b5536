"""A batch means the same thing from every command, every directory and every invocation.

The referee is always the server: the simulator's own count of runs created per task.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml
from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.sim import start_simulator
from batchrun.state import open_store

from .conftest import Workspace

SITE = "https://shop.example"
REPO = Path(__file__).resolve().parents[2]


def _write_spec(directory: Path, tasks: list[dict], **top: object) -> Path:
    """A spec as a user writes it: relative results, no state path anywhere."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "name": "prices",
        "concurrency": 4,
        "poll": {"interval": "0.05s", "max_interval": "0.2s"},
        "retry": {"attempts": 2, "backoff": {"initial": "0.05s", "max": "0.1s"}},
        **top,
        "tasks": tasks,
    }
    path = directory / "prices.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _batchrun(args: list[str], *, cwd: Path, sim: object) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BATCHRUN_",))}
    env |= {"SKYVERN_API_KEY": sim.api_key, "SKYVERN_BASE_URL": sim.base_url}  # type: ignore[attr-defined]
    return subprocess.Popen(
        [sys.executable, "-m", "batchrun", *args, "--log-format", "plain", "--no-report"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_runs(sim: object, count: int, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while sim.stats()["runs_created"] < count:  # type: ignore[attr-defined]
        assert time.monotonic() < end, "the first apply never created its runs"
        time.sleep(0.05)


def test_cron_from_home_then_by_hand_from_the_spec_directory_uses_one_batch(
    simulator, tmp_path: Path
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 1.0}]})
    jobs = tmp_path / "srv" / "jobs"
    home = tmp_path / "home"
    home.mkdir()
    tasks = [{"id": f"p{n}", "prompt": "Price", "url": f"{SITE}/p{n}"} for n in range(12)]
    spec = _write_spec(jobs, tasks, results="results")

    # cron: absolute spec path, working directory $HOME; killed while runs are in flight
    cron = _batchrun(["apply", str(spec), "--run", "nightly"], cwd=home, sim=sim)
    _wait_for_runs(sim, 4)
    cron.send_signal(signal.SIGKILL)
    cron.communicate(timeout=30)

    # by hand, from the spec's directory, relative path: the same batch, resumed
    by_hand = _batchrun(["apply", "prices.yaml", "--run", "nightly"], cwd=jobs, sim=sim)
    out, err = by_hand.communicate(timeout=120)
    assert by_hand.returncode == 0, out + err

    assert not (home / ".batchrun").exists() and not (home / "results").exists()
    assert (jobs / ".batchrun" / "state.db").is_file()
    assert Counter(sim.stats()["creates_by_task"].values()) == {1: 12}  # no run paid twice
    rows = (jobs / "results" / "prices" / "nightly" / "outputs.jsonl").read_text().splitlines()
    assert len(rows) == 12 and all(json.loads(r)["status"] == "succeeded" for r in rows)
    # plan and status from a third directory see the same instance
    elsewhere = CliRunner().invoke(cli, ["status", str(spec), "--json"], catch_exceptions=False)
    assert json.loads(elsewhere.output)["run_key"] == "nightly"


def test_a_batch_left_in_the_old_working_directory_location_is_not_forked(
    simulator, tmp_path: Path, monkeypatch
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = _write_spec(tmp_path / "jobs", [{"id": "a", "prompt": "P", "url": f"{SITE}/a"}])
    old_cwd = tmp_path / "where-cron-ran"
    old_cwd.mkdir()
    # What an older batchrun left: the state in the working directory's .batchrun/
    legacy = old_cwd / ".batchrun" / "state.db"
    first = _batchrun(["apply", str(spec), "--state", str(legacy)], cwd=old_cwd, sim=sim)
    assert first.wait(timeout=60) == 0
    runs = sim.stats()["runs_created"]

    monkeypatch.chdir(old_cwd)
    result = CliRunner().invoke(
        cli,
        ["apply", str(spec), "--api-url", sim.base_url, "--log-format", "plain"],
        env={"SKYVERN_API_KEY": sim.api_key, "BATCHRUN_STATE": None},
    )
    assert result.exit_code == 2, result.output
    assert "--state .batchrun/state.db" in result.output and "mv" in result.output
    assert sim.stats()["runs_created"] == runs  # nothing paid for a second time


def test_ended_tasks_stay_ended_across_reapplies_cancel_and_interrupts(
    simulator, workspace: Workspace
):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/blocked/*"}, "outcomes": ["terminated"], "duration": 0.05},
                {"match": {"url": "*/slow/*"}, "duration": 30},
                {"match": {"url": "*"}, "duration": 0.05},
            ]
        }
    )
    tasks = [
        {"id": "ok", "prompt": "P", "url": f"{SITE}/ok"},
        {"id": "gave-up", "prompt": "P", "url": f"{SITE}/blocked/x"},
    ]
    spec = workspace.spec(tasks)
    assert workspace.apply(spec, sim).exit_code == 1
    before = workspace.status(spec)
    assert workspace.apply(spec, sim).exit_code == 1  # again: nothing new is paid for
    assert sim.stats()["runs_created"] == 2
    assert workspace.status(spec)["runs"] == before["runs"] == 2

    # Ctrl-C with a run in flight, then apply again: re-attached, not paid twice
    slow = workspace.spec([*tasks, {"id": "slow", "prompt": "P", "url": f"{SITE}/slow/s"}])
    proc = workspace.apply_process(slow, sim)
    _wait_for_runs(sim, 3)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    # `batchrun cancel` ends it: the canceled task stays canceled, plan says keep
    cancel = CliRunner().invoke(
        cli,
        ["cancel", str(slow), "--state", str(workspace.state), "--api-url", sim.base_url],
        env=workspace.env(sim),
        catch_exceptions=False,
    )
    assert cancel.exit_code == 0, cancel.output
    plan = CliRunner().invoke(
        cli, ["plan", str(slow), "--state", str(workspace.state), "--json"], catch_exceptions=False
    )
    actions = {row["task"]: row["action"] for row in json.loads(plan.output)["tasks"]}
    assert actions == {"ok": "skip", "gave-up": "keep", "slow": "keep"}
    assert workspace.apply(slow, sim).exit_code == 1
    assert sim.stats()["runs_created"] == 3
    # only when asked: --retry terminated re-runs just that one
    assert workspace.apply(slow, sim, "--retry", "terminated").exit_code == 1
    assert Counter(sim.stats()["creates_by_task"].values()) == {1: 2, 2: 1}


def test_a_noop_reapply_changes_none_of_the_summary_figures(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.2}]})
    spec = workspace.spec([{"id": f"t{n}", "prompt": "P", "url": f"{SITE}/{n}"} for n in range(6)])
    assert workspace.apply(spec, sim).exit_code == 0
    [run_dir] = (workspace.results / "batch").iterdir()
    first = json.loads((run_dir / "summary.json").read_text())
    tables = (run_dir / "outputs.jsonl").stat().st_mtime_ns
    assert workspace.apply(spec, sim).exit_code == 0
    again = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "outputs.jsonl").stat().st_mtime_ns == tables  # not even rewritten
    figures = ("runs", "retries", "steps", "wall_time_s", "active_time_s", "counts")
    assert {k: again[k] for k in figures} == {k: first[k] for k in figures}
    assert first["wall_time_s"] > 0 and first["active_time_s"] > 0


def test_attempt_numbers_count_runs_created_everywhere_even_under_429s(
    simulator, workspace: Workspace
):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/flaky/*"}, "outcomes": ["failed", "completed"]},
                {"match": {"url": "*"}, "duration": 0.05},
            ],
            "faults": {"rate_limit": 0.5, "retry_after": 0.05, "endpoints": ["create"]},
        }
    )
    spec = workspace.spec(
        [{"id": f"f{n}", "prompt": "P", "url": f"{SITE}/flaky/{n}"} for n in range(4)]
    )
    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output
    logged = [
        int(part.split("=")[1])
        for line in result.output.splitlines()
        if "succeeded" in line
        for part in line.split()
        if part.startswith("attempt=")
    ]
    assert logged == [2, 2, 2, 2]  # the second run of each task, however many 429s came first
    assert {row["attempts"] for row in workspace.outputs()} == {2}
    assert sum(sim.stats()["creates_by_task"].values()) == 8


def test_a_task_removed_from_the_spec_leaves_the_results_but_keeps_its_history(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    tasks = [{"id": t, "prompt": "P", "url": f"{SITE}/{t}"} for t in ("keep", "drop")]
    assert workspace.apply(workspace.spec(tasks), sim, "--run", "r1").exit_code == 0
    run_dir = workspace.results / "batch" / "r1"
    assert (run_dir / "tasks" / "drop").is_dir()

    spec = workspace.spec(tasks[:1])
    assert workspace.apply(spec, sim, "--run", "r1").exit_code == 0
    assert [row["task"] for row in workspace.outputs()] == ["keep"]
    assert not (run_dir / "tasks" / "drop").exists()
    assert (workspace.results / "batch" / ".removed" / "r1" / "drop" / "output.json").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["total"], summary["runs"], summary["removed"]) == (1, 1, 1)
    store = open_store(workspace.state)
    assert store.task_record(store.find_batch("batch").id, "drop").removed  # history kept
    assert sim.stats()["runs_created"] == 2


def test_sim_batches_resume_like_real_ones(tmp_path: Path):
    demo = tmp_path / "jobs"
    shutil.copytree(REPO / "jobs", demo)
    spec = demo / "demo.yaml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHRUN_")}
    first = subprocess.Popen(
        [sys.executable, "-m", "batchrun", "apply", "--sim", str(spec), "--log-format", "plain"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # interrupted while runs are in flight: once the state knows of a few
    state = demo / ".batchrun" / "state.db"
    deadline = time.monotonic() + 60
    while len(_known_runs(state)) < 4:
        assert time.monotonic() < deadline, "the demo never created its runs"
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=60)

    def apply(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "batchrun", "apply", "--sim", str(spec), *extra],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    resumed = apply("--log-format", "plain")
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # members-directory
    assert "no longer knows" not in resumed.stdout
    [run_dir] = (demo / "results" / "demo").iterdir()
    rows = [json.loads(line) for line in (run_dir / "outputs.jsonl").read_text().splitlines()]
    run_ids = [row["run_id"] for row in rows]
    assert len(set(run_ids)) == len(run_ids) == 10  # run ids never repeat across starts

    store_path = demo / ".batchrun" / "sim" / "demo.db"
    with start_simulator(store_path=store_path) as sim:
        created = sim.stats()["runs_created"]
    # again, the same instance: nothing to do, nothing created
    assert apply("--log-format", "plain").returncode == 1
    # --retry-failed re-runs only the task the agent gave up on
    retried = apply("--retry-failed", "--log-format", "plain")
    assert retried.returncode == 1
    with start_simulator(store_path=store_path) as sim:
        stats = sim.stats()
    assert stats["runs_created"] == created + 1
    assert "task=members-directory attempt=2" in retried.stdout


def _known_runs(state: Path) -> set[str]:
    if not state.exists():
        return set()
    store = open_store(state)
    try:
        batch = store.find_batch("demo")
        return store.known_run_ids(batch.id) if batch is not None else set()
    finally:
        store.close()
