"""Turning untrusted file names from the server into safe, unique names on disk.

A downloaded file's name comes from whatever page the browser visited, so it can hold
`../`, absolute paths, NUL bytes, Windows device names or 10 kB of text. Every name that
reaches the disk passes through `safe_filename`, whose result is always one plain path
component that cannot escape the directory it is joined to.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 200  # well under the usual 255-byte limit, leaving room for temp-file affixes
_MAX_EXTENSION_BYTES = 16

# Device names Windows reserves in every directory, with or without an extension; results
# directories get copied to Windows machines and shares.
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
    | {f"COM{d}" for d in "¹²³"}
    | {f"LPT{d}" for d in "¹²³"}
)
# Characters Windows forbids in names; replaced so a name keeps its meaning elsewhere.
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
# Control, format (bidi overrides that disguise `exe.txt`), surrogate and private-use code
# points: invisible, unencodable or spoofing.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def safe_filename(name: str | None, taken: set[str], *, fallback: str = "file") -> str:
    """A safe single path component for `name`, unique within `taken` (which it joins).

    Uniqueness ignores case, because two names differing only in case are one file on
    macOS and Windows.
    """
    cleaned = _clean(name or "") or _clean(fallback) or "file"
    stem, extension = _split_extension(cleaned)
    taken_folded = {t.casefold() for t in taken}
    candidate = _fit(stem, extension, "")
    counter = 1
    while candidate.casefold() in taken_folded:
        counter += 1
        candidate = _fit(stem, extension, f" ({counter})")
    taken.add(candidate)
    return candidate


def _clean(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    # Keep only the last real component of anything that looks like a path, in either
    # separator convention.
    parts = [p for p in re.split(r"[/\\]", name) if p.strip(" .")]
    name = parts[-1] if parts else ""
    name = _WINDOWS_FORBIDDEN.sub("_", name)
    # Leading dots would hide the file (and could spell `..`); trailing dots and spaces are
    # silently dropped by Windows, making two different names collide there.
    name = name.strip(" ").lstrip(".").rstrip(". ")
    if not name:
        return ""
    device = name.split(".", 1)[0].rstrip(" ").upper()
    if device in _WINDOWS_RESERVED:
        name = "_" + name
    return name


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > _MAX_EXTENSION_BYTES - 1:
        return name, ""
    return stem, "." + extension


def _fit(stem: str, extension: str, suffix: str) -> str:
    """`stem + suffix + extension`, shortening the stem to stay within MAX_NAME_BYTES."""
    budget = MAX_NAME_BYTES - len(extension.encode()) - len(suffix.encode())
    encoded = stem.encode()
    if len(encoded) > budget:
        # Cut on a character boundary, then drop what a cut may have exposed at the end.
        stem = encoded[:budget].decode(errors="ignore").rstrip(". ")
        if not stem:
            stem = "file"
    return stem + suffix + extension
