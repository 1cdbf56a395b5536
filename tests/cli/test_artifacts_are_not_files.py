"""Screenshots and recordings are artifacts: never counted or listed as downloaded files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .conftest import Cli, no_traceback, sim_env

SCENARIO = {
    "rules": [
        {
            "match": {"url": "*"},
            "outcomes": ["completed"],
            "duration": 0.05,
            "files": [{"name": "invoice.pdf", "size": 300}],
        }
    ]
}


def test_screenshots_go_to_artifacts_and_downloads_to_files(simulator, here: Cli) -> None:
    sim = simulator(SCENARIO)
    spec = here.spec(
        [{"id": "shop", "url": "https://shop.example/", "prompt": "Download the invoice"}],
        results="out",
        export={"screenshots": True},
    )
    result = here.run(
        "apply",
        spec,
        "--state",
        here.root / "state.db",
        "--log-format",
        "plain",
        env=sim_env(sim),
    )
    no_traceback(result)
    assert result.exit_code == 0, result.output
    [run_dir] = (here.root / "out" / "batch").iterdir()
    task_dir = run_dir / "tasks" / "shop"

    files = json.loads((task_dir / "files.json").read_text())
    artifacts = json.loads((task_dir / "artifacts.json").read_text())
    assert [f["filename"] for f in files] == ["invoice.pdf"]
    assert artifacts and all(a["path"].startswith("tasks/shop/artifacts/") for a in artifacts)
    assert any("screenshot" in a["filename"] for a in artifacts)
    assert (run_dir / files[0]["path"]).stat().st_size == 300

    [row] = list(csv.DictReader((run_dir / "outputs.csv").open()))
    assert json.loads(row["files"]) == ["tasks/shop/files/invoice.pdf"]
    assert json.loads(row["artifacts"]) == [a["path"] for a in artifacts]
    [line] = [json.loads(x) for x in (run_dir / "outputs.jsonl").read_text().splitlines()]
    assert line["files"] == ["tasks/shop/files/invoice.pdf"]
    assert line["artifacts"] == [a["path"] for a in artifacts]

    # The log counts the one download as one file, the screenshot apart.
    [saved] = [x for x in result.stdout.splitlines() if "saved" in x and "task=shop" in x]
    assert f"1 file(s), {len(artifacts)} artifact(s) saved" in saved
    for path in (task_dir / "files").iterdir():
        assert not Path(path).name.startswith("screenshot")
