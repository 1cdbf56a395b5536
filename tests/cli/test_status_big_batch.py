"""`status` of a big batch: counts first, then at most 20 tasks per state needing attention."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Cli, no_traceback, sim_env

SCENARIO = {
    "rules": [
        {"match": {"url": "https://bad.example/*"}, "outcomes": ["failed"], "duration": 0.02},
        {"match": {"url": "*"}, "outcomes": ["completed"], "duration": 0.02},
    ]
}


@pytest.fixture
def big_batch(simulator, here: Cli) -> tuple[Cli, list[object]]:
    """60 tasks of which 50 fail, run to their end against the simulator."""
    sim = simulator(SCENARIO)
    tasks: list[dict[str, Any]] = [
        {
            "id": f"t{i:02d}",
            "url": f"https://{'bad' if i < 50 else 'good'}.example/{i}",
            "prompt": "Read the price",
        }
        for i in range(60)
    ]
    spec = here.spec(tasks, results="out", concurrency=20)
    where: list[object] = [spec, "--state", here.root / "state.db"]
    applied = here.run("apply", *where, "--no-report", "--log-format", "plain", env=sim_env(sim))
    assert applied.exit_code == 1, applied.output
    return here, where


def _listed(stdout: str) -> list[str]:
    return [line.split()[0] for line in stdout.splitlines() if line.startswith("    t")]


def test_status_shows_counts_first_then_20_failed(big_batch: tuple[Cli, list[object]]) -> None:
    here, where = big_batch
    result = here.run("status", *where)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith("Batch batch (") and "10 succeeded, 50 failed" in lines[1]
    assert lines[2].strip() == "10 succeeded, 50 failed"
    group = lines.index("  failed (50):")
    assert group > 2  # the counts come before any task
    assert _listed(result.stdout) == [f"t{i:02d}" for i in range(20)]
    assert "    ... and 30 more (--all or --task-state failed)" in lines
    assert "t55" not in result.stdout  # succeeded tasks need no attention


def test_status_all_and_task_state_list_every_failed_task(
    big_batch: tuple[Cli, list[object]],
) -> None:
    here, where = big_batch
    every = [f"t{i:02d}" for i in range(50)]
    assert _listed(here.run("status", *where, "--all").stdout) == every
    only = here.run("status", *where, "--task-state", "failed", "--all")
    assert _listed(only.stdout) == every
    assert _listed(here.run("status", *where, "--task-state", "canceled").stdout) == []


def test_status_json_lists_20_and_counts_the_rest(big_batch: tuple[Cli, list[object]]) -> None:
    here, where = big_batch
    result = here.run("status", *where, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["counts"]["failed"] == 50 and document["counts"]["succeeded"] == 10
    assert [t["task"] for t in document["tasks"]] == [f"t{i:02d}" for i in range(20)]
    assert {t["state"] for t in document["tasks"]} == {"failed"}
    assert document["not_listed"] == {"failed": 30}
    assert Path(document["state_path"]).name == "state.db"
    full = json.loads(here.run("status", *where, "--json", "--all").stdout)
    assert len(full["tasks"]) == 50 and full["not_listed"] == {}
