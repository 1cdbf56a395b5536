"""Helpers for end-to-end `apply` stories: write a spec, run batchrun, read what it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from batchrun.cli import cli


@dataclass
class Workspace:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def spec(self, tasks: list[dict[str, Any]], *, name: str = "batch", **top: Any) -> Path:
        document: dict[str, Any] = {
            "name": name,
            "concurrency": 4,
            "poll": {"interval": "0.05s", "max_interval": "0.2s"},
            "retry": {"attempts": 3, "backoff": {"initial": "0.05s", "max": "0.2s"}},
            "results": str(self.results),
            **top,
            "tasks": tasks,
        }
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def env(self, simulator: Any) -> dict[str, str]:
        return {
            "SKYVERN_API_KEY": simulator.api_key,
            "SKYVERN_BASE_URL": simulator.base_url,
            "BATCHRUN_STATE": str(self.state),
        }

    def apply(self, spec: Path, simulator: Any, *args: str) -> Result:
        """`batchrun apply` in this process (CliRunner), against the simulator."""
        return CliRunner().invoke(
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

    def apply_argv(self, spec: Path, simulator: Any, *args: str) -> list[str]:
        """The command line of `batchrun apply SPEC` against `simulator`, then `args`."""
        command = [sys.executable, "-m", "batchrun", "apply", str(spec)]
        return [*command, "--api-url", simulator.base_url, *args]

    def apply_process(self, spec: Path, simulator: Any, *args: str) -> subprocess.Popen[str]:
        """`batchrun apply` as a real process (to be killed, interrupted, raced)."""
        return subprocess.Popen(
            self.apply_argv(spec, simulator, "--log-format", "plain", "--no-report", *args),
            env={**os.environ, **self.env(simulator)},
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def outputs(self, spec_name: str = "batch") -> list[dict[str, Any]]:
        [run_dir] = [d for d in (self.results / spec_name).iterdir() if not d.name.startswith(".")]
        lines = (run_dir / "outputs.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def status(self, spec: Path) -> dict[str, Any]:
        result = CliRunner().invoke(
            cli,
            ["status", str(spec), "--state", str(self.state), "--json"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def creates_by_task(simulator: Any) -> dict[str, int]:
    return dict(simulator.stats()["creates_by_task"])
