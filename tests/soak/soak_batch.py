"""The fault soak: a batch against a simulator with every fault on, `apply` SIGKILLed at
random moments and restarted until the batch is done, then everything checked."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from batchrun.state import open_store

SITE = "https://shop.example"
FAULTS = {
    "rate_limit": 0.04,
    "retry_after": 1,
    "retry_after_rate": 0.3,
    "server_error": 0.04,
    "drop": 0.04,
    "drop_after_create": 0.5,  # half the lost create answers come after the run exists
    "latency": 0.015,
}


@dataclass(frozen=True)
class SoakPlan:
    tasks: int
    concurrency: int
    kills: int  # SIGKILL `apply` this many times at random moments before letting it finish
    seed: int
    # A task whose url is .../flaky/... fails its first run; .../stubborn/... its first two.
    flaky_every: int = 5
    stubborn_every: int = 13


def scenario(seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "rules": [
            {"match": {"url": "*/stubborn/*"}, "outcomes": ["failed", "failed", "completed"],
             "duration": 0.3, "failure_reason": "Captcha shown"},
            {"match": {"url": "*/flaky/*"}, "outcomes": ["failed", "completed"],
             "duration": 0.25, "failure_reason": "Page did not load"},
            {"match": {"url": "*"}, "duration": 0.2},
        ],
        "faults": FAULTS,
    }  # fmt: skip


def task_list(plan: SoakPlan) -> list[dict[str, str]]:
    def kind(i: int) -> str:
        if i % plan.stubborn_every == 0:
            return "stubborn"
        return "flaky" if i % plan.flaky_every == 0 else "item"

    return [
        {"id": f"t{i:04d}", "prompt": f"Price of item {i}", "url": f"{SITE}/{kind(i)}/{i}"}
        for i in range(plan.tasks)
    ]


class SoakRun:
    """A spec, a state file and a results directory under `root`, and the kills."""

    def __init__(self, root: Path, simulator: Any, plan: SoakPlan) -> None:
        self.root = root
        self.simulator = simulator
        self.plan = plan
        self.tasks = task_list(plan)
        self.state = root / "state.db"
        self.results = root / "results"
        self.spec = root / "soak.yaml"
        self.spec.write_text(
            yaml.safe_dump(
                {
                    "name": "soak",
                    "concurrency": plan.concurrency,
                    "poll": {"interval": "0.05s", "max_interval": "0.3s"},
                    "retry": {"attempts": 3, "backoff": {"initial": "0.05s", "max": "0.2s"}},
                    "results": str(self.results),
                    "tasks": self.tasks,
                },
                sort_keys=False,
            )
        )
        self.kills = 0
        self.runs = 0
        self.final_run_s = 0.0
        self.last_output = ""  # what the last `apply` that was not killed printed

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        env = {
            **os.environ,
            "SKYVERN_API_KEY": self.simulator.api_key,
            "BATCHRUN_STATE": str(self.state),
        }
        return subprocess.Popen(
            [sys.executable, "-m", "batchrun", "apply", str(self.spec), "--api-url",
             self.simulator.base_url, "--log-format", "plain", "--quiet", "--no-report"],
            env=env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def run_until_done(self, *, deadline_s: float) -> int:
        """Kill `plan.kills` times at random moments, then let a run finish; its exit code.

        The kills are counted, not timed, so a slow machine gets the same soak; the deadline
        only guards against a batch that never ends.
        """
        rng = random.Random(self.plan.seed)
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            assert elapsed < deadline_s, f"the batch was not done after {deadline_s:g}s"
            process = self.start()
            killing = self.kills < self.plan.kills
            budget = rng.uniform(0.3, 2.5) if killing else deadline_s - elapsed
            try:
                output, _ = process.communicate(timeout=budget)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                self.kills += 1
                continue
            self.last_output = output.decode(errors="replace")
            assert "Traceback" not in self.last_output, self.last_output
            if process.returncode == 0 or not killing:
                self.final_run_s = time.monotonic() - started - elapsed
                return process.returncode

    # -- what the run left behind --------------------------------------------------------

    def outputs(self) -> list[dict[str, Any]]:
        [run_dir] = (self.results / "soak").iterdir()
        lines = (run_dir / "outputs.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def temp_files(self) -> list[Path]:
        return sorted(self.root.rglob(".*.tmp-*"))

    def check(self) -> None:
        """Every invariant the soak promises; a failed assert names the task."""
        rows = {row["task"]: row for row in self.outputs()}
        assert sorted(rows) == sorted(task["id"] for task in self.tasks)
        created = Counter(run["task_key"] for run in self.simulator.stats()["runs"].values())
        store = open_store(self.state)
        try:
            batch = store.find_batch("soak")
            assert batch is not None
            records = {record.task_id: record for record in store.task_records(batch.id)}
            [run_dir] = (self.results / "soak").iterdir()
            for task in self.tasks:
                task_id = task["id"]
                row, record = rows[task_id], records[task_id]
                assert row["status"] == "succeeded" and row["output"], row
                attempts = store.attempts_for_task(batch.id, task_id)
                failed = sum(1 for attempt in attempts if attempt.status == "failed")
                key = f"{task['url']} | {task['prompt']}"
                assert created[key] <= failed + 1, (task_id, created[key], attempts)
                # every run the server made is in the state: none orphaned and paid for
                assert created[key] == len({a.run_id for a in attempts if a.run_id}), task_id
                # the results directory says what the state says
                assert (row["status"], row["run_id"], row["attempts"], row["output"]) == (
                    record.state, record.run_id, record.attempts, record.output
                ), task_id  # fmt: skip
                written = json.loads((run_dir / "tasks" / task_id / "output.json").read_text())
                assert written == record.output, task_id
        finally:
            store.close()
        assert self.temp_files() == []
