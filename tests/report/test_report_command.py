"""`batchrun report SPEC [--run KEY] [--results DIR] [--state PATH]` through click."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result
from report_dom import read_dom
from results_fixture import build_results_dir, small_batch, task_line

from batchrun.cli import cli
from batchrun.state import open_store


def write_spec(tmp_path: Path, results: str = "results") -> Path:
    spec = tmp_path / "prices.yaml"
    spec.write_text(
        f"name: prices\nresults: {results}\n"
        "tasks:\n  - id: sku-1\n    prompt: Find the price\n    url: https://example.com\n",
        encoding="utf-8",
    )
    return spec


def run_report(tmp_path: Path, *args: str) -> Result:
    no_state = str(tmp_path / "no-state.db")
    return CliRunner().invoke(cli, ["report", *args, "--state", no_state])


def test_report_for_a_given_run_prints_the_path_it_wrote(tmp_path: Path) -> None:
    results = small_batch(tmp_path)
    spec = write_spec(tmp_path, str(tmp_path / "results"))
    outcome = run_report(tmp_path, str(spec), "--run", "run-7")
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == str(results / "report.html")
    assert len(read_dom((results / "report.html").read_text(encoding="utf-8")).task_rows) == 5


def test_without_run_or_state_the_newest_run_directory_is_reported(tmp_path: Path) -> None:
    newest = small_batch(tmp_path)
    older = build_results_dir(tmp_path / "old", [task_line(1, "failed")], None)
    older = older.rename(newest.parent / "run-6")
    os.utime(older, (1_000_000_000, 1_000_000_000))
    spec = write_spec(tmp_path, "elsewhere")
    outcome = run_report(tmp_path, str(spec), "--results", str(tmp_path / "results"))
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.strip() == str(newest / "report.html")
    assert not (older / "report.html").exists()


def test_an_unknown_run_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    small_batch(tmp_path)
    spec = write_spec(tmp_path, str(tmp_path / "results"))
    outcome = run_report(tmp_path, str(spec), "--run", "run-99")
    assert outcome.exit_code == 2
    assert "no results for run 'run-99' of batch 'prices'" in outcome.output
    assert "Traceback" not in outcome.output


def test_a_run_key_cannot_leave_the_results_directory(tmp_path: Path) -> None:
    small_batch(tmp_path)
    spec = write_spec(tmp_path, str(tmp_path / "results"))
    outcome = run_report(tmp_path, str(spec), "--run", "../../etc")
    assert outcome.exit_code == 2
    assert "cannot be used as a directory name" in outcome.output


def test_with_a_state_file_the_latest_run_comes_from_the_state(tmp_path: Path) -> None:
    small_batch(tmp_path)
    spec = write_spec(tmp_path, str(tmp_path / "results"))
    state = tmp_path / "state.db"
    open_store(state).close()
    outcome = CliRunner().invoke(cli, ["report", str(spec), "--state", str(state)])
    assert outcome.exit_code == 2
    assert "has never been applied" in outcome.output
