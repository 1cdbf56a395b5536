"""Files that could not be saved make the batch fail (exit 1), and `export` says so too."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Cli, no_traceback, sim_env

SCENARIO: dict[str, Any] = {
    "rules": [
        {
            "match": {"url": "*"},
            "outcomes": ["completed"],
            "duration": 0.05,
            "files": [
                {"name": "big.pdf", "size": 20000},  # over export.max_file_size
                {"name": "broken.bin", "size": 100, "corrupt": True},  # checksum mismatch
                {"name": "fine.txt", "size": 100},
            ],
        }
    ]
}


def _lost_files_batch(simulator: Any, here: Cli) -> tuple[Any, list[object]]:
    sim = simulator(SCENARIO)
    spec = here.spec(
        [{"id": "shop", "url": "https://shop.example/", "prompt": "Download the invoices"}],
        results="out",
        export={"max_file_size": "1KB"},
    )
    return sim, [spec, "--state", here.root / "state.db"]


def test_apply_with_lost_files_exits_1_and_says_which(simulator, here: Cli) -> None:
    sim, where = _lost_files_batch(simulator, here)
    result = here.run("apply", *where, "--log-format", "plain", env=sim_env(sim))
    no_traceback(result)
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stdout.splitlines() if "could not be saved" in line]
    assert line.strip().startswith("2 file(s) could not be saved:")
    assert "big.pdf: not kept: file is 20000 bytes" in line
    assert "broken.bin: checksum mismatch" in line
    assert "fine.txt" not in line  # the file that was saved is not listed


def test_export_exits_1_for_lost_files_but_0_with_no_download(simulator, here: Cli) -> None:
    sim, where = _lost_files_batch(simulator, here)
    assert here.run("apply", *where, env=sim_env(sim)).exit_code == 1

    exported = here.run("export", *where, env=sim_env(sim))
    no_traceback(exported)
    assert exported.exit_code == 1, exported.output
    errors = [line for line in exported.stderr.splitlines() if line.startswith("batchrun: error:")]
    assert errors == [
        "batchrun: error: 2 file(s) could not be saved when the batch ran; "
        "the rest of the results directory is complete"
    ]

    # --no-download asks only to write what the state holds: done, so exit 0; the loss is
    # still pointed out.
    written = here.run("export", *where, "--no-download", env=sim_env(sim))
    no_traceback(written)
    assert written.exit_code == 0, written.output
    assert "batchrun: error" not in written.stderr
    assert "2 file(s) could not be saved when the batch ran" in written.stderr


def test_json_summary_of_lost_files_is_an_error_line(simulator, here: Cli) -> None:
    sim, where = _lost_files_batch(simulator, here)
    result = here.run("apply", *where, "--log-format", "json", env=sim_env(sim))
    assert result.exit_code == 1, result.output
    [summary] = [r for r in map(json.loads, result.stdout.splitlines()) if r["kind"] == "summary"]
    assert summary["level"] == "error"
    assert summary["data"]["file_errors"] == 2
    assert len(summary["data"]["file_error_examples"]) == 2
