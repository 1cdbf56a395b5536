"""`export --results OTHER` writes a summary.json that names OTHER, not where apply wrote."""

from __future__ import annotations

import json

from .conftest import Cli, sim_env


def test_exported_summary_names_the_new_results_dir(simulator, here: Cli) -> None:
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = here.spec(
        [{"id": "a", "url": "https://a.example", "prompt": "p"}], results=str(here.root / "first")
    )
    where = [spec, "--state", here.root / "s.db"]
    assert here.run("apply", *where, "--run", "r1", env=sim_env(sim)).exit_code == 0
    first = json.loads((here.root / "first/batch/r1/summary.json").read_text())

    exported = here.run("export", *where, "--results", here.root / "second", env=sim_env(sim))
    assert exported.exit_code == 0, exported.output
    second = json.loads((here.root / "second/batch/r1/summary.json").read_text())
    assert second["results_dir"] == str(here.root / "second/batch/r1")
    assert second["results_dir"] != first["results_dir"]
    # Rewriting elsewhere leaves the first copy as it was.
    assert json.loads((here.root / "first/batch/r1/summary.json").read_text()) == first
