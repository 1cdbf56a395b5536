"""Running a command with a real pseudo-terminal as its stdout, as a person's shell would."""

from __future__ import annotations

import errno
import os
import pty
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_on_terminal(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None
) -> tuple[int, bytes, str]:
    """The exit code, every byte drawn on the terminal, and stderr."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError as exc:  # EIO: the child closed the terminal
            assert exc.errno == errno.EIO
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, b"".join(chunks), stderr.decode(errors="replace")
