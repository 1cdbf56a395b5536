"""Writing files so that a final name only ever holds complete content.

Every file in a results directory is first written to a temporary sibling, flushed to disk
and then renamed over its final name (`os.replace` is atomic on POSIX and Windows). A crash
at any moment leaves either the old complete file or the new complete file, plus at worst a
temporary file whose name can never be mistaken for a result: it starts with a dot (which
`safe_filename` never produces) and ends in `.tmp-<12 hex digits>`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_TEMP_NAME = re.compile(r"^\..+\.tmp-[0-9a-f]{12}$")


def temp_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")


@contextlib.contextmanager
def atomic_output(
    path: Path, *, durable: bool = True, parent_exists: bool = False
) -> Iterator[BinaryIO]:
    """A binary file that appears under `path` only if the `with` block ends normally.

    Raising inside the block (a failed checksum, a size cap, a cancelled download) removes
    the temporary file and leaves `path` untouched. `durable` also syncs the file and its
    directory to disk, so that the rename survives a power cut; a process crash never
    exposes a partial file either way.
    """
    if not parent_exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    # O_EXCL: never write through a file or symlink someone planted under the temp name.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    if durable:
        _fsync_directory(path.parent)


def atomic_write_bytes(
    path: Path, data: bytes, *, durable: bool = True, parent_exists: bool = False
) -> None:
    with atomic_output(path, durable=durable, parent_exists=parent_exists) as handle:
        handle.write(data)


def atomic_write_text(
    path: Path, text: str, *, durable: bool = True, parent_exists: bool = False
) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable, parent_exists=parent_exists)


def is_temp_file(name: str) -> bool:
    return _TEMP_NAME.match(name) is not None


def remove_stale_temp_files(root: Path) -> int:
    """Delete temporary files left under `root` by a crashed writer; returns how many.

    Only call this while no writer is active under `root` (the batch lock guarantees it).
    """
    removed = 0
    if not root.is_dir():
        return removed
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if is_temp_file(name):
                with contextlib.suppress(FileNotFoundError):
                    (Path(dirpath) / name).unlink()
                    removed += 1
    return removed


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
