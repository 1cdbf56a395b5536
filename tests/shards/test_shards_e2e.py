"""End to end: 200 tasks as 4 shard processes (one SIGKILLed mid-way and restarted), merged,
against the same batch run by one process.

Relies on the wiring of `--shards` in apply: the default state file `state-I-of-N.db`
beside the default one, the batch lock taken per shard (four shards share `.batchrun/`
here), and a shard's results under `<results>/shard-I-of-N/<spec>/<run>/` with
`shard`, `spec_digest` (and `first_submitted_at` / `last_finished_at`) in its summary.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from batchrun.cli import BatchrunGroup
from batchrun.commands.merge import merge_command
from batchrun.shards import COUNT_VARIABLE, INDEX_VARIABLES, Shard

SITE = "https://shop.example"
TASKS = 200
SHARDS = 4
RUN = "e2e-run"
KILLED = 1
SCENARIO = {
    "rules": [
        # Every tenth task fails once and succeeds on its retry: retries and runs to add up.
        # Its runs are longer so that the shard is still running them when it is killed.
        {"match": {"url": "*/flaky/*"}, "outcomes": ["failed", "completed"], "duration": 1.0},
        {"match": {"url": "*"}, "duration": 0.2},
    ]
}
# What differs between two runs of the same task: the run itself and when it ran.
PER_RUN_FIELDS = ("run_id", "started_at", "finished_at", "app_url")
LOGS: dict[int, Path] = {}  # each apply process's output, by pid


def tasks() -> list[dict[str, Any]]:
    return [
        {
            "id": f"price-sku-{k:05d}",
            "prompt": f"Price of item {k}",
            "url": f"{SITE}/{'flaky' if k % 10 == 0 else 'item'}/{k}",
            "data_extraction_schema": {
                "type": "object",
                "properties": {"price": {"type": "number"}, "currency": {"type": "string"}},
            },
        }
        for k in range(1, TASKS + 1)
    ]


def write_spec(root: Path) -> Path:
    """The same batch in each directory (the spec of tests/apply's Workspace, 8 at once)."""
    root.mkdir()
    document = {
        "name": "batch",
        "concurrency": 8,
        "poll": {"interval": "0.05s", "max_interval": "0.2s"},
        "retry": {"attempts": 3, "backoff": {"initial": "0.05s", "max": "0.2s"}},
        "results": str(root / "results"),
        "tasks": tasks(),
    }
    path = root / "batch.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def environment(sim: Any) -> dict[str, str]:
    # Nothing from the machine running the tests may pick the shard or the state file.
    dropped = {*INDEX_VARIABLES, COUNT_VARIABLE, "BATCHRUN_STATE", "SLURM_ARRAY_TASK_MIN"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**env, "SKYVERN_API_KEY": sim.api_key}


def apply(spec: Path, sim: Any, *args: str) -> subprocess.Popen[str]:
    # Output to files, not pipes: a pipe nobody reads while the test waits could fill up.
    logs = spec.parent / "logs"
    logs.mkdir(exist_ok=True)
    log = logs / f"apply-{len(list(logs.iterdir()))}.log"
    argv = [sys.executable, "-m", "batchrun", "apply", str(spec), "--run", RUN]
    argv += ["--api-url", sim.base_url, "--log-format", "plain", "--no-report", *args]
    with log.open("w") as output:
        process = subprocess.Popen(
            argv,
            env=environment(sim),
            cwd=spec.parent,  # the default state file goes under .batchrun/ here
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    LOGS[process.pid] = log
    return process


def finish(process: subprocess.Popen[str], timeout: float = 300) -> int:
    return process.wait(timeout=timeout)


def log_of(process: subprocess.Popen[str]) -> str:
    return LOGS[process.pid].read_text()


def shard_args(index: int) -> list[str]:
    return ["--shards", str(SHARDS), "--shard-index", str(index)]


def mid_way(sim: Any, keys: set[str]) -> bool:
    runs = Counter(run["task_key"] for run in sim.stats()["runs"].values())
    return any(runs[key] >= 2 for key in keys)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def comparable(rows: list[dict[str, Any]]) -> list[str]:
    kept = [{k: v for k, v in row.items() if k not in PER_RUN_FIELDS} for row in rows]
    return sorted(json.dumps(row, sort_keys=True) for row in kept)


def test_four_shards_one_killed_merge_to_what_one_process_writes(
    simulator: Any, tmp_path: Path
) -> None:
    single_spec = write_spec(tmp_path / "single")
    spec = write_spec(tmp_path / "sharded")
    single_sim = simulator(SCENARIO, seed=11)
    sharded_sim = simulator(SCENARIO, seed=11)

    done = apply(single_spec, single_sim)
    assert finish(done) == 0, log_of(done)

    processes = {i: apply(spec, sharded_sim, *shard_args(i)) for i in range(SHARDS)}
    # Kill one shard mid-way: once one of its tasks has been retried, so that the restart
    # must carry the retry over and re-attach the runs in flight (retries come last).
    killed_keys = {
        f"{t['url']} | {t['prompt']}" for t in tasks() if Shard(KILLED, SHARDS).contains(t["id"])
    }
    deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
    while not mid_way(sharded_sim, killed_keys):
        assert processes[KILLED].poll() is None, "the shard finished before it could be killed"
        assert time.monotonic() < deadline, "the shard never got mid-way"
        time.sleep(0.02)
    processes[KILLED].kill()
    assert finish(processes[KILLED], 30) == -9
    processes[KILLED] = apply(spec, sharded_sim, *shard_args(KILLED))
    for index, process in processes.items():
        assert finish(process) == 0, (index, log_of(process))

    sharded_results = spec.parent / "results"
    single_results = single_spec.parent / "results"
    shard_dirs = sorted(sharded_results.glob(f"shard-*-of-{SHARDS}/batch/{RUN}"))
    assert len(shard_dirs) == SHARDS
    group = BatchrunGroup("batchrun", commands=[merge_command])
    result = CliRunner().invoke(group, ["merge", str(spec), "--run", RUN, *map(str, shard_dirs)])
    assert result.exit_code == 0, result.output

    merged = records(sharded_results / "batch" / RUN / "outputs.jsonl")
    single = records(single_results / "batch" / RUN / "outputs.jsonl")
    # Every task exactly once, in spec order, each as one process would have recorded it.
    assert [row["task"] for row in merged] == [t["id"] for t in tasks()]
    assert comparable(merged) == comparable(single)
    csv_lines = (sharded_results / "batch" / RUN / "outputs.csv").read_text().splitlines()
    assert len(csv_lines) == TASKS + 1
    # The kill cost nothing: as many runs as one uninterrupted process made.
    assert sharded_sim.stats()["runs_created"] == single_sim.stats()["runs_created"]
    summary = json.loads((sharded_results / "batch" / RUN / "summary.json").read_text())
    whole = json.loads((single_results / "batch" / RUN / "summary.json").read_text())
    for key in ("total", "succeeded", "failed", "canceled", "pending", "runs", "steps"):
        assert summary[key] == whole[key], key
    # The killed shard retried a task before it was killed: its restart must count it too.
    assert summary["retries"] == whole["retries"] == 20
