"""Every error a user can cause is one line: `batchrun: error: ...`, or a JSON object under
--log-format json; never a traceback."""

from __future__ import annotations

import json
import socket

import pytest

from .conftest import Cli, no_traceback, one_error_line, sim_env

TASK = {"id": "a", "url": "https://a.example", "prompt": "p"}


@pytest.mark.parametrize(
    "args",
    [
        ["status"],  # missing argument
        ["status", "x.yaml", "--bogus"],  # unknown option
        ["apply", "x.yaml", "--concurrency", "many"],  # wrong type
        ["apply", "x.yaml", "--concurrency", "0"],  # out of range
        ["sim", "--port", "99999"],  # out of range
        ["status", "x.yaml", "--task-state", "exploded"],  # not a choice
        ["frobnicate"],  # no such command
        ["export", "x.yaml", "--api-url", "ftp://skyvern.example"],  # not http(s)
        ["inspect", "x.yaml", "t", "--api-url", "http://a.example/\x1f"],  # httpx refuses it
        ["apply", "x.yaml", "--max-input-size", "lots"],  # not a size
    ],
)
def test_argument_errors_are_one_line_exit_2(here: Cli, args: list[str]) -> None:
    line = one_error_line(here.run(*args), 2)
    assert "--help)" in line or "No such command" in line


def test_argument_errors_from_a_real_process_name_batchrun(here: Cli) -> None:
    proc = here.process("sim", "--port", "99999")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "batchrun: error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535. "
        "(see: batchrun sim --help)"
    ]


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # fails on any line that is not JSON


def _free_port() -> int:
    # A port nobody listens on: bound, then closed.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_json_log_format_keeps_every_error_line_json(here: Cli) -> None:
    good = here.spec([TASK], results="out")
    bad = here.write("bad.yaml", "name: b\nconcurency: 3\ntasks:\n  - {id: a, url: 1}\n")
    state = ["--state", here.root / "s.db", "--log-format", "json"]
    cases = {
        "spec error": (here.run("apply", bad, *state), 2),
        "missing key": (here.run("apply", good, *state, env={"SKYVERN_API_KEY": None}), 2),
        "api down": (
            here.run(
                "apply", good, *state, "--api-url", f"http://127.0.0.1:{_free_port()}",
                "--give-up-after", "1s", env={"SKYVERN_API_KEY": "k"},
            ),
            3,
        ),
        "usage error": (here.run("apply", good, *state, "--concurrency", "x"), 2),
    }  # fmt: skip
    for what, (result, code) in cases.items():
        no_traceback(result)
        assert result.exit_code == code, (what, result.output)
        records = _json_lines(result.stderr)
        assert all(r["level"] == "error" for r in records), (what, records)
        assert records[-1]["exit_code"] == code, what
    spec_records = _json_lines(cases["spec error"][0].stderr)
    assert len(spec_records) >= 2  # every issue, each with its position
    assert all({"file", "line", "col"} <= r.keys() for r in spec_records)


def test_json_summary_names_the_batch_as_the_events_do(simulator, here: Cli) -> None:
    sim = simulator({"rules": [{"match": {"url": "*"}, "outcomes": ["failed"], "duration": 0.05}]})
    spec = here.spec([TASK], results="out")
    result = here.run(
        "apply", spec, "--state", here.root / "s.db", "--log-format", "json", "--run", "night",
        env=sim_env(sim),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    records = _json_lines(result.stdout)
    [summary] = [r for r in records if r["kind"] == "summary"]
    assert {r["batch"] for r in records} == {"batch/night"}
    assert summary["data"]["failed"] == 1
    assert result.stderr.strip() == ""


def test_one_task_is_not_1_tasks(simulator, here: Cli) -> None:
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = here.spec([TASK], results="out")
    result = here.run(
        "apply", spec, "--state", here.root / "s.db", "--log-format", "plain", env=sim_env(sim)
    )
    assert result.exit_code == 0, result.output
    assert "1 task, 1 to run" in result.stdout
    assert "1 tasks" not in result.output


def test_json_log_format_keeps_warnings_json_too(here: Cli) -> None:
    # An array index with no --shards is warned about before the missing key ends the run.
    spec = here.spec([TASK], results="out")
    result = here.run(
        "apply", spec, "--state", here.root / "s.db", "--log-format", "json",
        env={"SKYVERN_API_KEY": None, "JOB_COMPLETION_INDEX": "0"},
    )  # fmt: skip
    no_traceback(result)
    assert result.exit_code == 2
    warning, error = _json_lines(result.stderr)
    assert warning["level"] == "warning" and "JOB_COMPLETION_INDEX" in warning["message"]
    assert error["level"] == "error" and error["exit_code"] == 2
