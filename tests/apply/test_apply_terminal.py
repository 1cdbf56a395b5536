"""`apply` itself, run as a real process: a progress bar on a terminal, plain lines in a pipe."""

from __future__ import annotations

import os
import re
import subprocess

from pty_capture import run_on_terminal

from .conftest import Workspace

PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARN|ERROR) +batch/")


def _tasks() -> list[dict[str, str]]:
    return [
        {"id": f"t{i}", "prompt": "Price", "url": f"https://shop.example/{i}"} for i in range(6)
    ]


def _command(workspace: Workspace, spec, sim, *extra: str) -> list[str]:
    return workspace.apply_argv(spec, sim, "--no-report", *extra)


def test_apply_on_a_terminal_draws_a_progress_bar(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.6}]})
    spec = workspace.spec(_tasks(), concurrency=2)
    returncode, output, stderr = run_on_terminal(
        _command(workspace, spec, sim),
        env={**os.environ, **workspace.env(sim), "COLUMNS": "120", "TERM": "xterm-256color"},
        cwd=workspace.root,
    )
    assert returncode == 0, stderr
    drawn = output.decode(errors="replace")
    assert "\x1b[" in drawn  # cursor movement / colour: a live display
    assert "━" in drawn  # the bar
    assert "6 succeeded" in drawn
    assert not any(PLAIN_LINE.match(line) for line in drawn.splitlines())


def test_apply_in_a_pipe_writes_one_plain_line_per_event(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.1}]})
    spec = workspace.spec(_tasks(), concurrency=2)
    proc = subprocess.run(
        _command(workspace, spec, sim),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **workspace.env(sim)},
        cwd=workspace.root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "━" not in proc.stdout
    lines = [line for line in proc.stdout.splitlines() if PLAIN_LINE.match(line)]
    assert sum("succeeded" in line for line in lines) == 6
    assert sum("run created" in line for line in lines) == 6
