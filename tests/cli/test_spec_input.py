"""What a spec says reaches the user the same way from validate, plan and apply: errors
as file:line:col lines (exit 2, nothing paid), warnings as file:line:col: warning lines
that change no exit code, and --max-input-size as the cap on what is read."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import Cli, no_traceback, sim_env

HUGE = "123456789012345678901234567890"
BASE = """\
name: odd
poll: {interval: 0.05s, max_interval: 0.2s}
retry: {attempts: 1}
results: out
"""
POSITION = re.compile(r"^\S+\.(yaml|csv):\d+:\d+: ")


def _spec_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("task", f"tasks:\n  - id: a\n    url: https://a.example\n    prompt: p\n"
                 f"    max_steps: {HUGE}\n"),
        ("defaults", f"defaults:\n  max_steps: {HUGE}\n"
                     "tasks:\n  - id: a\n    url: https://a.example\n    prompt: p\n"),
        ("escalate", f"retry:\n  attempts: 2\n  escalate:\n    - attempt: 2\n"
                     f"      max_steps: {HUGE}\n"
                     "tasks:\n  - id: a\n    url: https://a.example\n    prompt: p\n"),
    ],
)  # fmt: skip
def test_huge_max_steps_is_a_positioned_error_everywhere(
    simulator, here: Cli, where: str, text: str
) -> None:
    spec = here.write("odd.yaml", BASE.replace("retry: {attempts: 1}\n", "") + text)
    validated = here.run("validate", spec)
    no_traceback(validated)
    assert validated.exit_code == 2
    [line] = _spec_lines(validated)
    assert POSITION.match(line) and "max_steps" in line, line

    sim = simulator()
    for command in (["plan"], ["apply", "--log-format", "plain"]):
        result = here.run(*command, spec, "--state", here.root / "s.db", env=sim_env(sim))
        no_traceback(result)
        assert result.exit_code == 2, result.output
        assert _spec_lines(result) == [line]
    assert sim.stats()["runs_created"] == 0


def test_huge_max_steps_from_a_csv_row_points_at_the_row(here: Cli) -> None:
    here.write("rows.csv", f"n\n5\n{HUGE}\n")
    spec = here.write(
        "odd.yaml",
        BASE + "tasks:\n  - id: 'p{n}'\n    for_each: {csv: rows.csv}\n"
        "    url: https://a.example\n    prompt: p\n    max_steps: '{n}'\n",
    )
    result = here.run("apply", spec, "--state", here.root / "s.db")
    no_traceback(result)
    assert result.exit_code == 2
    [line] = _spec_lines(result)
    assert POSITION.match(line) and "rows.csv:3" in line, line


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_yaml_1_1_boolean_is_an_error_for_plan_and_apply(
    simulator, here: Cli, command: str
) -> None:
    sim = simulator()
    spec = here.write(
        "odd.yaml",
        BASE + "export:\n  screenshots: yes\n"
        "tasks:\n  - id: a\n    url: https://a.example\n    prompt: p\n",
    )
    result = here.run(command, spec, "--state", here.root / "s.db", env=sim_env(sim))
    no_traceback(result)
    assert result.exit_code == 2
    [line] = _spec_lines(result)
    assert line.startswith(f"{spec}:6:16: export.screenshots: expected true or false, got 'yes'")
    assert sim.stats()["runs_created"] == 0


# Escalating to skyvern-1.0 with a url: valid, but the extraction would never run.
WARNED = (
    BASE.replace("retry: {attempts: 1}\n", "")
    + """\
retry:
  attempts: 2
  escalate:
    - attempt: 2
      engine: skyvern-1.0
tasks:
  - id: a
    url: https://a.example
    prompt: p
    data_extraction_schema: {type: object, properties: {price: {type: string}}}
"""
)
WARNING = "odd.yaml:8:15: warning: retry.escalate[0].engine: attempt 2: skyvern-1.0 with a url"


def test_validate_warns_and_strict_fails(here: Cli) -> None:
    spec = here.write("odd.yaml", WARNED)
    result = here.run("validate", spec)
    assert result.exit_code == 0
    [line] = _spec_lines(result)
    assert line.startswith(f"{here.root}/{WARNING}"), line
    assert "(1 task, 1 warning)" in result.stdout
    assert here.run("validate", "--strict", spec).exit_code == 2


def test_plan_prints_the_warnings_and_exits_0(here: Cli) -> None:
    spec = here.write("odd.yaml", WARNED)
    result = here.run("plan", spec, "--state", here.root / "s.db")
    assert result.exit_code == 0, result.output
    [line] = _spec_lines(result)
    assert line.startswith(f"{here.root}/{WARNING}"), line
    assert "1 to create" in result.stdout


def test_apply_prints_the_warnings_and_keeps_its_exit_code(simulator, here: Cli) -> None:
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05,
                                "output": {"price": "9.99"}}]})  # fmt: skip
    spec = here.write("odd.yaml", WARNED)
    result = here.run(
        "apply", spec, "--state", here.root / "s.db", "--log-format", "plain", env=sim_env(sim)
    )
    assert result.exit_code == 0, result.output
    [line] = _spec_lines(result)
    assert line.startswith(f"{here.root}/{WARNING}"), line

    # Under --log-format json the warning is a JSON object like every other stderr line.
    as_json = here.run(
        "apply", spec, "--state", here.root / "s2.db", "--log-format", "json", env=sim_env(sim)
    )
    assert as_json.exit_code == 0, as_json.output
    [record] = [json.loads(line) for line in _spec_lines(as_json)]
    assert record["level"] == "warning" and (record["line"], record["col"]) == (8, 15)


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_max_input_size_caps_the_spec_file(simulator, here: Cli, command: str) -> None:
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = here.write("odd.yaml", WARNED)
    size = spec.stat().st_size
    state = [] if command == "validate" else ["--state", here.root / "s.db"]
    small = here.run(command, spec, *state, "--max-input-size", size - 1, env=sim_env(sim))
    no_traceback(small)
    assert small.exit_code == 2
    [line] = _spec_lines(small)
    assert "too large" in line and POSITION.match(line), line
    assert sim.stats()["runs_created"] == 0

    # A cap written as the spec writes sizes, above the file: the spec loads and runs.
    fits = here.run(command, spec, *state, "--max-input-size", "1MB", env=sim_env(sim))
    assert fits.exit_code == 0, fits.output


def test_a_bad_max_input_size_is_one_usage_line(here: Cli) -> None:
    spec = here.write("odd.yaml", WARNED)
    result = here.run("plan", spec, "--max-input-size", "ten")
    no_traceback(result)
    assert result.exit_code == 2
    [line] = _spec_lines(result)
    assert line.startswith("batchrun: error: Invalid value for '--max-input-size'"), line
