"""One `apply` at a time per batch, enforced by an OS file lock.

`flock` is released by the kernel when its holder dies, SIGKILL included, so a lock left by
a killed process is never stale: the next `apply` simply takes it over.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from pathlib import Path
from types import TracebackType

from batchrun.errors import BatchLockedError


class BatchLock:
    def __init__(self, state_path: Path, spec_name: str, run_key: str) -> None:
        safe_key = re.sub(r"[^A-Za-z0-9._-]", "_", run_key)[:60]
        # The state file's name is part of it: shards sharing a directory never lock each other.
        digest = hashlib.sha256(f"{spec_name}\0{run_key}\0{state_path.name}".encode()).hexdigest()[
            :10
        ]
        self.path = state_path.parent / "locks" / f"{spec_name}--{safe_key}--{digest}.lock"
        self.description = f"{spec_name} (run {run_key})"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise BatchLockedError(
                f"another `batchrun apply` (pid {holder}) is running batch {self.description}; "
                "wait for it to finish, or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def __enter__(self) -> BatchLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
