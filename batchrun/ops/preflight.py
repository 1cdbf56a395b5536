"""Proving a batch can finish before anything is paid for: the local half.

The state file's directory and the results directory must be writable (they are created
if missing) and the disk must have room for the state; the API half (is it there, is the
key good) is one cheap call made by `apply` itself. Any failure is one line and its exit
code, with no run created.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from batchrun.errors import LocalIOError
from batchrun.ops.context import BatchLocation

# Room the state needs to record a batch's first transitions; far below what a batch uses
# in the end, but a disk with less is a disk about to fail mid-batch.
MIN_FREE_BYTES = 20 * 1024 * 1024


def check_local_writes(location: BatchLocation) -> None:
    _writable_dir(location.state_path.parent, "the state file's directory")
    if location.state_path.exists() and not os.access(location.state_path, os.W_OK):
        raise LocalIOError(f"cannot write the state file {location.state_path}: permission denied")
    check_results_root(location.results_root)
    free = shutil.disk_usage(location.state_path.parent).free
    if free < MIN_FREE_BYTES:
        raise LocalIOError(
            f"only {free // 1024} KiB free for the state file in {location.state_path.parent}; "
            "free some space and run the same command again"
        )


def check_results_root(path: Path) -> None:
    """The results root is (or can be made) a writable directory: one line and exit 6 if
    not, before export, report or artifacts start writing into it."""
    _writable_dir(path, "the results directory")


def _writable_dir(path: Path, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise LocalIOError(f"{what} {path} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".batchrun-probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise LocalIOError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
