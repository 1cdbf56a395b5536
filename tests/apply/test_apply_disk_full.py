"""A full disk ends `apply` with one line and exit 6, and the rerun loses nothing."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections import Counter

from .conftest import Workspace


def _small_files_only() -> None:
    # Every file this process writes is capped at 96 KiB; beyond that write() fails with
    # EFBIG (SIGXFSZ ignored), as a full disk would fail it with ENOSPC.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024, 96 * 1024))


def test_disk_full_is_one_line_and_exit_6_then_a_rerun_finishes(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    tasks = [
        {
            "id": f"t{i:02d}",
            "prompt": f"Describe item {i} " + "in detail " * 40,
            "url": f"https://shop.example/{i}",
        }
        for i in range(60)
    ]
    spec = workspace.spec(tasks, concurrency=6)
    env = {**os.environ, **workspace.env(sim)}
    command = workspace.apply_argv(spec, sim, "--log-format", "plain", "--run", "r1")

    full = subprocess.run(
        command,
        env=env,
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_small_files_only,
    )
    assert full.returncode == 6, (full.stdout[-2000:], full.stderr)
    assert "Traceback" not in full.stderr
    [message] = [line for line in full.stderr.splitlines() if line.strip()]
    assert message.startswith("batchrun: error:")

    rerun = subprocess.run(
        command, env=env, cwd=workspace.root, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert {line["status"] for line in workspace.outputs()} == {"succeeded"}
    created = Counter(run["task_key"] for run in sim.stats()["runs"].values())
    assert len(created) == len(tasks) and max(created.values()) == 1
