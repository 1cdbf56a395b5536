"""Helpers for command-line tests: a directory with specs, and batchrun run on them."""

from __future__ import annotations

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

# Fast enough for tests: runs end in a fraction of a second and are polled often.
FAST = {
    "poll": {"interval": "0.05s", "max_interval": "0.2s"},
    "retry": {"attempts": 1},
}


@dataclass
class Cli:
    root: Path

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def spec(self, tasks: list[dict[str, Any]], *, name: str = "batch", **top: Any) -> Path:
        document = {"name": name, "concurrency": 8, **FAST, **top, "tasks": tasks}
        return self.write(f"{name}.yaml", yaml.safe_dump(document, sort_keys=False))

    def run(self, *args: object, env: dict[str, str | None] | None = None) -> Result:
        """batchrun in this process; an exception escaping the CLI is kept in the result."""
        return CliRunner().invoke(cli, [str(a) for a in args], env=env)

    def process(
        self, *args: object, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """`python -m batchrun ...` as a real process, in this directory."""
        environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
        return subprocess.run(
            [sys.executable, "-m", "batchrun", *map(str, args)],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def here(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def sim_env(sim: Any) -> dict[str, str | None]:
    return {"SKYVERN_API_KEY": sim.api_key, "SKYVERN_BASE_URL": sim.base_url}


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    # CliRunner keeps an exception that escaped the CLI (it would have been a traceback).
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def one_error_line(result: Result, exit_code: int) -> str:
    """The single `batchrun: error:` line of a failed command, after checking the rest."""
    no_traceback(result)
    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("batchrun: error: "), lines
    return lines[0]
