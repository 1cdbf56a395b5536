"""The nightly recipe of docs/recipes.md, run as written: two nights against the simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "docs" / "recipes.md"


def nightly_script() -> str:
    text = RECIPE.read_text(encoding="utf-8")
    match = re.search(r"```sh nightly\n(.*?)```", text, re.DOTALL)
    assert match, "docs/recipes.md lost its nightly script"
    return match.group(1)


def test_the_nightly_recipe_runs_halts_and_diffs_as_documented(simulator, tmp_path: Path):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/a"}, "output": {"price": 10, "scraped_at": "mon"}},
                {"match": {"url": "*"}, "output": {"price": 1, "scraped_at": "mon"}},
            ]
        }
    )
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "nightly.sh").write_text(nightly_script())
    spec = {
        "name": "prices",
        "poll": {"interval": "0.05s", "max_interval": "0.2s"},
        "halt": {"max_failures": 25, "max_failure_rate": "30%"},
        "diff": {"ignore": ["$.scraped_at"]},
        "tasks": [{"id": t, "prompt": "Price", "url": f"https://shop.example/{t}"} for t in "abc"],
    }
    (jobs / "prices.yaml").write_text(yaml.safe_dump(spec))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "batchrun"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m batchrun "$@"\n')
    launcher.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHRUN_")}
    env |= {
        "PATH": f"{bin_dir}:{env['PATH']}",
        "SKYVERN_API_KEY": sim.api_key,
        "SKYVERN_BASE_URL": sim.base_url,
    }

    def night(date: str) -> subprocess.CompletedProcess[str]:
        # `date +%F` is faked by a `date` that prints the night being simulated.
        fake_date = bin_dir / "date"
        fake_date.write_text(f"#!/bin/sh\necho {date}\n")
        fake_date.chmod(0o755)
        return subprocess.run(
            ["sh", "nightly.sh", "prices.yaml"],
            cwd=jobs,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = night("2026-12-01")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "this is the first night" in first.stdout

    sim.set_scenario(
        {
            "rules": [
                {"match": {"url": "*/a"}, "output": {"price": 12, "scraped_at": "tue"}},
                {"match": {"url": "*"}, "output": {"price": 1, "scraped_at": "tue"}},
            ]
        }
    )
    second = night("2026-12-02")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changes since the last night: diff-2026-12-02.json" in second.stdout
    diff = json.loads((jobs / "diff-2026-12-02.json").read_text())
    assert diff["changed"] == [{"task": "a", "fields": [{"path": "$.price", "from": 10, "to": 12}]}]
    assert diff["unchanged"] == 2  # scraped_at changed everywhere, and is ignored
    assert (jobs / "results" / "prices" / "2026-12-02" / "report.html").is_file()
