"""`batchrun export` end to end: apply a batch against the simulator, delete its results
directory, rebuild it from the state."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from batchrun.cli import cli
from batchrun.commands.apply import apply_command
from batchrun.sim import RunningSimulator

SCENARIO = {
    "rules": [
        {
            "match": {"url": "*/files"},
            "duration": 0.05,
            "files": [
                {"name": "../../../outside.txt", "size": 300},
                {"name": "invoice.pdf", "size": 2000},
                {"name": "invoice.pdf", "size": 2100},
            ],
        },
        {
            "match": {"url": "*/broken"},
            "outcomes": ["failed"],
            "duration": 0.05,
            "failure_reason": "Page did not load",
        },
        {"match": {"url": "*"}, "duration": 0.05},
    ]
}
SCHEMA = {
    "type": "object",
    "properties": {"price": {"type": "number"}, "seller": {"type": "object"}},
}
# Compared byte for byte; summary.json and report.html carry the time they were made.
TIMESTAMPED = {"summary.json", "report.html"}


def _spec(root: Path) -> Path:
    tasks: list[dict[str, Any]] = [
        {"id": "with-files", "prompt": "get invoices", "url": "https://shop.example/files"},
        {"id": "price", "prompt": "get the price", "url": "https://shop.example/p1",
         "data_extraction_schema": SCHEMA},
        {"id": "broken", "prompt": "get it", "url": "https://shop.example/broken"},
    ]  # fmt: skip
    document = {
        "name": "shop",
        "poll": {"interval": "0.05s", "max_interval": "0.2s"},
        "retry": {"attempts": 1},
        "results": str(root / "results"),
        "tasks": tasks,
    }
    path = root / "shop.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _env(root: Path, sim: RunningSimulator, *, with_key: bool = True) -> dict[str, str]:
    env = {"BATCHRUN_STATE": str(root / "state.db"), "SKYVERN_BASE_URL": sim.base_url}
    env["SKYVERN_API_KEY"] = sim.api_key if with_key else ""
    return env


def _export(root: Path, sim: RunningSimulator, *args: str, with_key: bool = True) -> Result:
    return CliRunner().invoke(
        cli,
        ["export", str(root / "shop.yaml"), "--api-url", sim.base_url, *args],
        env=_env(root, sim, with_key=with_key),
    )


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(run_dir).as_posix(): p.read_bytes()
        for p in run_dir.rglob("*")
        if p.is_file() and p.name not in TIMESTAMPED
    }


def test_export_rebuilds_a_deleted_results_directory(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(SCENARIO)
    spec = _spec(tmp_path)
    applied = CliRunner().invoke(
        apply_command,
        [str(spec), "--api-url", sim.base_url, "--log-format", "plain", "--no-report"],
        env=_env(tmp_path, sim),
    )
    assert applied.exit_code == 1, applied.output  # `broken` failed
    [run_dir] = (tmp_path / "results" / "shop").iterdir()
    original = _snapshot(run_dir)
    assert {
        "tasks/with-files/files/outside.txt",
        "tasks/with-files/files/invoice.pdf",
        "tasks/with-files/files/invoice (2).pdf",
        "tasks/broken/timeline.json",
    } <= set(original)
    assert not (tmp_path / "outside.txt").exists()

    shutil.rmtree(tmp_path / "results")
    result = _export(tmp_path, sim)
    assert result.exit_code == 0, result.output
    assert _snapshot(run_dir) == original
    assert (run_dir / "summary.json").is_file() and (run_dir / "report.html").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["succeeded"], summary["failed"]) == (2, 1)

    with (run_dir / "outputs.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["task"] for row in rows] == ["with-files", "price", "broken"]
    assert [row["status"] for row in rows] == ["succeeded", "succeeded", "failed"]
    assert isinstance(float(rows[1]["output.price"]), float)
    assert rows[0]["output.summary"] == "Completed: get invoices"
    assert rows[2]["failure_reason"] == "Page did not load"
    assert rows[1]["output_verdict"] == "valid"
    assert json.loads(rows[0]["files"]) == [
        "tasks/with-files/files/outside.txt",
        "tasks/with-files/files/invoice.pdf",
        "tasks/with-files/files/invoice (2).pdf",
    ]


def test_export_without_the_api_key_writes_all_it_can_and_says_what_is_missing(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(SCENARIO)
    spec = _spec(tmp_path)
    applied = CliRunner().invoke(
        apply_command,
        [str(spec), "--api-url", sim.base_url, "--log-format", "plain", "--no-report"],
        env=_env(tmp_path, sim),
    )
    assert applied.exit_code == 1, applied.output
    shutil.rmtree(tmp_path / "results")

    result = _export(tmp_path, sim, with_key=False)
    assert result.exit_code == 1
    assert "with-files: files not restored" in result.output
    assert "SKYVERN_API_KEY" in result.output
    assert "Traceback" not in result.output
    [run_dir] = (tmp_path / "results" / "shop").iterdir()
    assert (run_dir / "outputs.csv").is_file()
    assert not (run_dir / "tasks/with-files/files").exists()


def test_export_of_an_unknown_run_is_a_usage_error(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(SCENARIO)
    _spec(tmp_path)
    result = _export(tmp_path, sim, "--run", "nope")
    assert result.exit_code == 2
    assert "never been applied" in result.output or "no run 'nope'" in result.output
