"""Reading the files a spec names (the spec itself, CSV/JSONL rows, extraction schemas).

Every failure becomes a `SpecError` with a `path:line:col`: a missing file, a directory, a
file too large to be a spec (refused before reading it all), bytes that are not UTF-8.
"""

from __future__ import annotations

import os
import stat

from batchrun.spec.errors import SpecError, SpecIssue

MAX_FILE_BYTES = 10_000_000  # far above any hand-written spec or row file; keeps memory bounded
_UTF8_BOM = b"\xef\xbb\xbf"


def display_path_near(spec_display: str, relative: str) -> str:
    """How to name a file referenced from a spec: relative to the spec, as the user ran it."""
    if os.path.isabs(relative):
        return relative
    return os.path.normpath(os.path.join(os.path.dirname(spec_display), relative))


def line_col_at(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def read_text(path: str | os.PathLike[str], display: str, *, what: str = "file") -> str:
    """The file's text, or a SpecError saying at `display:line:col` why it cannot be used."""
    data = _read_capped(path, display, what)
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise _fail(display, f"{what} is not UTF-8 text (byte 0x{bad})", line, col) from None


def _read_capped(path: str | os.PathLike[str], display: str, what: str) -> bytes:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise _fail(display, f"{what} is a directory, not a file")
        if info.st_size > MAX_FILE_BYTES:
            raise _fail(display, _too_large(what, info.st_size))
        with open(path, "rb") as handle:
            # st_size can lie (pipes, /proc files): never read more than the cap allows.
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _fail(display, f"{what} not found") from None
    except PermissionError:
        raise _fail(display, f"cannot read {what}: permission denied") from None
    except IsADirectoryError:
        raise _fail(display, f"{what} is a directory, not a file") from None
    except OSError as exc:
        raise _fail(display, f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _fail(display, _too_large(what, None))
    return data


def _too_large(what: str, size: int | None) -> str:
    limit = f"{MAX_FILE_BYTES / 1_000_000:g} MB"
    if size is None:
        return f"{what} is larger than the {limit} limit"
    return f"{what} is too large ({size / 1_000_000:.1f} MB; the limit is {limit})"


def _fail(display: str, message: str, line: int = 1, col: int = 1) -> SpecError:
    return SpecError([SpecIssue(display, line, col, message)])
