"""One scenario's workspace: its small spec, `batchrun` as a real subprocess, what it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from real_backends import Backend

from batchrun.state import open_store

DEFAULT_TOP: dict[str, Any] = {
    "concurrency": 2,  # one Chromium per run; the machine has 2 cores
    "retry": {"attempts": 1},
}


@dataclass
class RealWorkspace:
    root: Path
    backend: Backend

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def spec(self, name: str, tasks: list[dict[str, Any]], **top: Any) -> Path:
        document: dict[str, Any] = {
            "name": name,
            **DEFAULT_TOP,
            "poll": self.backend.poll,
            "results": str(self.results),
            # Proxies are a cloud feature; the local server has none.
            "defaults": {"proxy_location": "NONE"},
            **top,
            "tasks": tasks,
        }
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SKYVERN_API_KEY": self.backend.api_key,
            "BATCHRUN_STATE": str(self.state),
        }

    def _argv(self, command: str, spec: Path, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "batchrun",
            command,
            str(spec),
            "--api-url",
            self.backend.base_url,
            *args,
        ]

    def apply_process(self, spec: Path, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self._argv("apply", spec, "--log-format", "plain", "--no-report", *args),
            env=self._env(),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def apply(self, spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
        process = self.apply_process(spec, *args)
        try:
            stdout, stderr = process.communicate(timeout=self.backend.run_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise AssertionError(f"apply did not finish:\n{stdout}\n{stderr}") from None
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def batchrun(self, command: str, spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Any other command taking a spec and --api-url (cancel, artifacts, inspect, ...)."""
        return subprocess.run(
            self._argv(command, spec, *args),
            env=self._env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def wait_for_runs(
        self, spec_name: str, tasks: list[str], process: subprocess.Popen[str]
    ) -> dict[str, str]:
        """The run id of each of `tasks` once the state shows the server accepted them all.

        The state file is read in-process: a `batchrun status` subprocess per probe is slow
        enough on a loaded machine for a short run to end before the caller acts on it.
        """

        def accepted() -> dict[str, str] | None:
            if not self.state.exists():
                return None
            store = open_store(self.state)
            try:
                batch = store.find_batch(spec_name)
                records = list(store.task_records(batch.id)) if batch is not None else []
            finally:
                store.close()
            run_ids = {r.task_id: r.run_id for r in records if r.run_id and r.last_status}
            return run_ids if set(tasks) <= set(run_ids) else None

        found = wait_until(accepted, self.backend.run_timeout_s, f"runs of {tasks}", process)
        return {task: found[task] for task in tasks}

    def run_dir(self, spec_name: str) -> Path:
        [run_dir] = (self.results / spec_name).iterdir()
        return run_dir

    def outputs(self, spec_name: str) -> dict[str, dict[str, Any]]:
        lines = (self.run_dir(spec_name) / "outputs.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        return {row["task"]: row for row in rows}

    def task_file(self, spec_name: str, task: str, name: str) -> Path:
        return self.run_dir(spec_name) / "tasks" / task / name


def wait_until(
    probe: Callable[[], Any],
    timeout: float,
    what: str,
    process: subprocess.Popen[str] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if process is not None and process.poll() is not None:
            stdout, stderr = process.communicate()
            raise AssertionError(f"apply ended before {what} was seen:\n{stdout}\n{stderr}")
        assert time.monotonic() < deadline, f"no {what} after {timeout:g}s"
        time.sleep(0.3)
