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
    system_s: float  # the kernel's part of cpu_s (file creation, sockets)
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
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
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
        system_s=usage.ru_stime,
        # KiB. Not ru_maxrss: on exec Linux folds the forking parent's high-water mark into
        # the child's (this parent holds the simulator, which grows with every run), so the
        # child's own peak is read from /proc while it runs, every 20 ms.
        peak_rss_mb=(peak_kib or usage.ru_maxrss) / 1024,
        exit_code=process.returncode,
        stderr_tail=tail,
    )


def _high_water_kib(pid: int) -> int:
    """VmHWM of the process (its own peak RSS since exec), 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
