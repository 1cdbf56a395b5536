"""A results directory that cannot be written is found before anything is paid for."""

from __future__ import annotations

import pytest

from .conftest import Cli, one_error_line, sim_env

TASKS = [
    {"id": f"t{i}", "url": f"https://shop.example/{i}", "prompt": "Read the price"}
    for i in range(3)
]


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ("resfile", "is a file, not a directory"),  # an existing file, relative to the spec
        ("/proc/nope", "/proc/nope"),  # a place nothing can be created in
        ("resfile/below", "resfile/below"),  # a directory under a file
    ],
)
def test_unusable_results_dir_is_one_line_exit_6_and_no_run(
    simulator, here: Cli, results: str, expected: str
) -> None:
    sim = simulator()
    here.write("resfile", "not a directory\n")
    spec = here.spec(TASKS, results=results)
    result = here.run("apply", spec, "--state", here.root / "state.db", env=sim_env(sim))
    line = one_error_line(result, 6)
    assert expected in line
    assert sim.stats()["runs_created"] == 0


def test_results_option_pointing_at_a_file_is_a_usage_error_and_no_run(
    simulator, here: Cli
) -> None:
    sim = simulator()
    here.write("resfile", "x\n")
    spec = here.spec(TASKS, results="out")
    result = here.run(
        "apply",
        spec,
        "--state",
        here.root / "state.db",
        "--results",
        here.root / "resfile",
        env=sim_env(sim),
    )
    # click refuses an existing file for a directory option: a usage error, before paying.
    assert "is a file" in one_error_line(result, 2)
    assert sim.stats()["runs_created"] == 0
    assert not (here.root / "out").exists()


@pytest.mark.parametrize("command", ["export", "artifacts"])
def test_export_and_artifacts_into_an_unusable_dir_are_one_line_exit_6(
    simulator, here: Cli, command: str
) -> None:
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = here.spec(TASKS, results="out")
    state = ["--state", here.root / "state.db"]
    assert here.run("apply", spec, *state, env=sim_env(sim)).exit_code == 0
    here.write("resfile", "x\n")
    option = "--out" if command == "artifacts" else "--results"
    result = here.run(command, spec, *state, option, here.root / "resfile/below", env=sim_env(sim))
    assert "resfile/below" in one_error_line(result, 6)
