"""The tests' one workspace: write a spec, run batchrun as a user would, read what it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from click.testing import CliRunner, Result

from batchrun.cli import cli
from batchrun.state import open_store

SITE = "https://shop.example"


class Server(Protocol):
    base_url: str
    api_key: str


@dataclass
class Workspace:
    root: Path
    name: str = "batch"  # the spec name `spec()` writes by default
    retry_attempts: int = 3
    # When set, `apply` fails the test unless it exits with one of these codes.
    apply_exits: tuple[int, ...] | None = None

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def spec(self, tasks: list[dict[str, Any]], *, name: str | None = None, **top: Any) -> Path:
        name = name or self.name
        document: dict[str, Any] = {
            "name": name,
            "concurrency": 4,
            "poll": {"interval": "0.05s", "max_interval": "0.2s"},
            "retry": {
                "attempts": self.retry_attempts,
                "backoff": {"initial": "0.05s", "max": "0.2s"},
            },
            "results": str(self.results),
            **top,
            "tasks": tasks,
        }
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def env(self, source: Server | str | None) -> dict[str, str | None]:
        """The environment of a command: a simulator's URL and key, a key alone, or None to
        unset the key (`--offline` must not need one)."""
        if source is None or isinstance(source, str):
            return {"SKYVERN_API_KEY": source, "BATCHRUN_STATE": str(self.state)}
        return {
            "SKYVERN_API_KEY": source.api_key,
            "SKYVERN_BASE_URL": source.base_url,
            "BATCHRUN_STATE": str(self.state),
        }

    def apply(self, spec: Path, simulator: Server, *args: str) -> Result:
        """`batchrun apply` in this process (CliRunner), against the simulator."""
        result = CliRunner().invoke(
            cli,
            [
                "apply",
                str(spec),
                "--api-url",
                simulator.base_url,
                "--log-format",
                "plain",
                "--no-report",
                *args,
            ],
            env=self.env(simulator),
            catch_exceptions=False,
        )
        if self.apply_exits is not None:
            assert result.exit_code in self.apply_exits, result.output
        return result

    def run(self, *args: str, sim: Server | None = None, api_key: str | None = None) -> Result:
        """Any batchrun command; with `sim`, pointed at it (`--api-url`) with its key."""
        argv = list(args)
        if sim is not None:
            argv += ["--api-url", sim.base_url]
            api_key = api_key or sim.api_key
        return CliRunner().invoke(cli, argv, env=self.env(api_key), catch_exceptions=False)

    def apply_argv(self, spec: Path, simulator: Server, *args: str) -> list[str]:
        """The command line of `batchrun apply SPEC` against `simulator`, then `args`."""
        command = [sys.executable, "-m", "batchrun", "apply", str(spec)]
        return [*command, "--api-url", simulator.base_url, *args]

    def apply_process(self, spec: Path, simulator: Server, *args: str) -> subprocess.Popen[str]:
        """`batchrun apply` as a real process (to be killed, interrupted, raced)."""
        env = {**os.environ, **{k: v for k, v in self.env(simulator).items() if v is not None}}
        return subprocess.Popen(
            self.apply_argv(spec, simulator, "--log-format", "plain", "--no-report", *args),
            env=env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def apply_until_done(self, spec: Path, simulator: Server, *, tries: int) -> int:
        """`apply` as a process, run again (as a user would) until it exits 0 or `tries` runs
        have been made; its last exit code."""
        for _ in range(tries):
            proc = self.apply_process(spec, simulator)
            proc.communicate(timeout=240)
            if proc.returncode == 0:
                break
        return proc.returncode

    def outputs(self, spec_name: str | None = None) -> list[dict[str, Any]]:
        base = self.results / (spec_name or self.name)
        [run_dir] = [d for d in base.iterdir() if not d.name.startswith(".")]
        lines = (run_dir / "outputs.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def known_runs(self, spec_name: str | None = None) -> set[str]:
        """The run ids the state file knows (created and recorded), read without a command."""
        if not self.state.exists():
            return set()
        store = open_store(self.state)
        try:
            batch = store.find_batch(spec_name or self.name)
            return store.known_run_ids(batch.id) if batch is not None else set()
        finally:
            store.close()

    def status(self, spec: Path) -> dict[str, Any]:
        result = CliRunner().invoke(
            cli,
            ["status", str(spec), "--state", str(self.state), "--json"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


def creates_by_task(simulator: Any) -> dict[str, int]:
    return dict(simulator.stats()["creates_by_task"])
