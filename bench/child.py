"""Run one client as a child process and measure it: wall time, CPU seconds, peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChildUsage:
    wall_s: float
    cpu_s: float  # user + system of the child alone (wait4 gives its own rusage)
    peak_rss_mb: float
    exit_code: int
    stderr_tail: str


def run_measured(
    argv: list[str], *, env: dict[str, str], cwd: Path, timeout_s: float
) -> ChildUsage:
    """Start `argv` with the running Python, wait for it, and read its own resource usage."""
    started = time.monotonic()
    with (cwd / "stderr.txt").open("w+b") as stderr:
        process = subprocess.Popen(
            [sys.executable, *argv],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        stderr.seek(0)
        tail = stderr.read().decode(errors="replace")[-600:]
    return ChildUsage(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        exit_code=process.returncode,
        stderr_tail=tail,
    )
