"""Reading the files a spec names (the spec itself, CSV/JSONL rows, extraction schemas).

Every failure becomes a `SpecError` with a `path:line:col`: a missing file, a directory, a
file larger than the input cap (refused before reading it), bytes that are not UTF-8.
The cap is a setting: `load_spec(..., max_input_size=...)` for the spec file, and the spec's
`limits.max_input_size` for the files it names. Row files are read line by line, so a large
CSV never sits in memory as one text.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from typing import BinaryIO

from batchrun.spec.errors import SpecError, SpecIssue
from batchrun.spec.inputs import note_file_opened, note_file_read

# The default cap: far above any hand-written spec, and what keeps a stray multi-gigabyte
# file from being read whole by mistake. `limits.max_input_size` raises it for row files.
DEFAULT_MAX_INPUT_BYTES = 10_000_000
RAISE_HINT = "raise limits.max_input_size"
_UTF8_BOM = b"\xef\xbb\xbf"
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def display_path_near(spec_display: str, relative: str) -> str:
    """How to name a file referenced from a spec: relative to the spec, as the user ran it."""
    if os.path.isabs(relative):
        return relative
    return os.path.normpath(os.path.join(os.path.dirname(spec_display), relative))


def line_col_at(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def read_text(
    path: str | os.PathLike[str],
    display: str,
    *,
    what: str = "file",
    max_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    hint: str = "",
) -> str:
    """The file's text, or a SpecError saying at `display:line:col` why it cannot be used.
    `hint` tells how to raise the cap (for a file the spec names)."""
    with _open_capped(path, display, what, max_bytes, hint) as handle:
        data = _read(handle, display, what, max_bytes + 1)
    if len(data) > max_bytes:
        raise _fail(display, _too_large(what, None, max_bytes, hint))
    note_file_read(path, hashlib.sha256(data).hexdigest())
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _not_utf8(display, what, data[exc.start : exc.start + 1], line, col) from None


def read_lines(
    path: str | os.PathLike[str],
    display: str,
    *,
    what: str,
    max_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    hint: str = "",
) -> Iterator[str]:
    """The file's lines, ends kept, read one at a time; a SpecError (raised while iterating)
    for the same problems as `read_text`. A lone `\\r` ends a line too, as in old Mac files."""
    with _open_capped(path, display, what, max_bytes, hint) as handle:
        total = 0
        number = 0
        digest = hashlib.sha256()
        while True:
            # Never more than the cap allows, even in one line with no end (st_size can lie).
            raw = _readline(handle, display, what, max_bytes + 1 - total)
            if not raw:
                note_file_read(path, digest.hexdigest())
                return
            digest.update(raw)
            total += len(raw)
            if total > max_bytes:
                raise _fail(display, _too_large(what, None, max_bytes, hint))
            number += 1
            if number == 1 and raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM) :]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 1]
                raise _not_utf8(display, what, bad, number, exc.start + 1) from None
            yield from _LONE_CR.split(line) if "\r" in line else (line,)


def _open_capped(
    path: str | os.PathLike[str], display: str, what: str, max_bytes: int, hint: str
) -> BinaryIO:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise _fail(display, f"{what} is a directory, not a file")
        if info.st_size > max_bytes:
            raise _fail(display, _too_large(what, info.st_size, max_bytes, hint))
        note_file_opened(path)
        return open(path, "rb")  # the caller closes it (a with block)
    except OSError as exc:
        raise _os_error(display, what, exc) from None


def _read(handle: BinaryIO, display: str, what: str, size: int) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise _os_error(display, what, exc) from None


def _readline(handle: BinaryIO, display: str, what: str, size: int) -> bytes:
    try:
        return handle.readline(size)
    except OSError as exc:
        raise _os_error(display, what, exc) from None


def _os_error(display: str, what: str, exc: OSError) -> SpecError:
    if isinstance(exc, FileNotFoundError):
        return _fail(display, f"{what} not found")
    if isinstance(exc, PermissionError):
        return _fail(display, f"cannot read {what}: permission denied")
    if isinstance(exc, IsADirectoryError):
        return _fail(display, f"{what} is a directory, not a file")
    return _fail(display, f"cannot read {what}: {exc.strerror or exc}")


def _not_utf8(display: str, what: str, bad: bytes, line: int, col: int) -> SpecError:
    return _fail(display, f"{what} is not UTF-8 text (byte 0x{bad.hex()})", line, col)


def format_bytes(size: int, *, exact: bool = True) -> str:
    """`10 MB`, `1.5 GB` (exact), or `12.3 MB` (one decimal): a size for messages, in
    powers of 1000."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:g} {unit}" if exact else f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _too_large(what: str, size: int | None, max_bytes: int, hint: str) -> str:
    limit = format_bytes(max_bytes)
    suffix = f"; {hint}" if hint else ""
    if size is None:
        return f"{what} is larger than the {limit} limit{suffix}"
    written = format_bytes(size, exact=False)
    return f"{what} is too large ({written}; the limit is {limit}{suffix})"


def _fail(display: str, message: str, line: int = 1, col: int = 1) -> SpecError:
    return SpecError([SpecIssue(display, line, col, message)])
