"""Fetching one remote file into a results directory: streamed, verified, atomic.

Shared by run downloads and artifacts. The bytes stream through a temporary file (constant
memory for any size); the SHA-256 the server advertised is checked before the file gets
its final name, and a mismatch is fetched again then reported, never kept. An expired link
is replaced through `fresh_source` (fetching the run or artifact again).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import anyio

from batchrun.client.downloads import DownloadResult
from batchrun.client.errors import (
    FileTooLargeError,
    LinkExpiredError,
    NotFoundError,
    SkyvernError,
)
from batchrun.export.atomic import atomic_output
from batchrun.export.exported import ExportedFile

# How many times one file may ask for a fresh link; a link that expires again right after
# being minted means something else is wrong.
MAX_LINK_REFRESHES = 2
# A server may list a file before its content is ready (a recording being finalised answers
# 404 "Artifact content not available" for a few seconds after the run ends).
NOT_READY_DELAYS_S = (1.0, 2.0, 4.0)
_HASH_CHUNK = 1024 * 1024
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class Downloader(Protocol):
    """The part of `SkyvernClient` that streams files."""

    async def download(
        self,
        url: str,
        sink: BinaryIO,
        *,
        artifact_id: str | None = None,
        max_bytes: int | None = None,
    ) -> DownloadResult: ...


@dataclass(frozen=True)
class Source:
    """Where a file's bytes are and what they should hash to."""

    url: str
    artifact_id: str | None
    checksum: str | None  # SHA-256 hex as the server advertised it, if it did
    filename: str | None  # the server's name, for the record


class ChecksumMismatch(Exception):
    def __init__(self, result: DownloadResult, expected: str) -> None:
        super().__init__(f"checksum mismatch: expected sha256 {expected}, got {result.sha256}")
        self.result = result


async def fetch_verified(
    client: Downloader,
    source: Source,
    target: Path,
    *,
    results_root: Path,
    max_file_size: int,
    checksum_retries: int,
    fresh_source: Callable[[], Awaitable[Source]],
) -> ExportedFile:
    """Fetch `source` to `target` (a path already checked to be safe) and describe the result.

    Never raises for a problem with this one file (those end up in `ExportedFile.error`);
    only cancellation and local disk errors propagate.
    """
    relative = target.resolve().relative_to(results_root.resolve()).as_posix()
    expected = normalize_checksum(source.checksum)
    if expected is not None and _existing_hash(target) == expected:
        # Already complete from an earlier pass (a resumed batch or a rebuild).
        return ExportedFile(relative, source.filename, target.stat().st_size, expected, True, None)
    mismatches = 0
    refreshes = 0
    not_ready_waits = iter(NOT_READY_DELAYS_S)
    while True:
        try:
            with atomic_output(target) as sink:
                result = await client.download(
                    source.url, sink, artifact_id=source.artifact_id, max_bytes=max_file_size
                )
                if expected is not None and result.sha256 != expected:
                    raise ChecksumMismatch(result, expected)
        except ChecksumMismatch as exc:
            mismatches += 1
            if mismatches <= checksum_retries:
                continue
            return _failed(target, source, exc.result, checksum_ok=False, error=str(exc))
        except LinkExpiredError as exc:
            refreshes += 1
            if refreshes > MAX_LINK_REFRESHES:
                return _failed(target, source, None, error=f"link expired: {exc}")
            try:
                source = await fresh_source()
            except SkyvernError as refresh_error:
                return _failed(
                    target, source, None, error=f"link expired and refresh failed: {refresh_error}"
                )
            expected = normalize_checksum(source.checksum)
            continue
        except FileTooLargeError as exc:
            return _failed(target, source, None, error=f"not kept: {exc}")
        except NotFoundError as exc:
            delay = next(not_ready_waits, None)
            if delay is None:
                return _failed(target, source, None, error=f"download failed: {exc}")
            await anyio.sleep(delay)
            continue
        except SkyvernError as exc:
            return _failed(target, source, None, error=f"download failed: {exc}")
        return ExportedFile(
            path=relative,
            filename=source.filename,
            size=result.size,
            sha256=result.sha256,
            checksum_ok=None if expected is None else True,
            error=None,
        )


def normalize_checksum(value: str | None) -> str | None:
    """The advertised SHA-256 as lowercase hex, or None when there is none to check against.

    Anything that is not 64 hex digits cannot be a SHA-256; treating it as "no checksum"
    keeps a server quirk from failing every download.
    """
    text = (value or "").strip().lower().removeprefix("sha256:")
    return text if _SHA256_HEX.fullmatch(text) else None


def _failed(
    target: Path,
    source: Source,
    result: DownloadResult | None,
    *,
    error: str,
    checksum_ok: bool | None = None,
) -> ExportedFile:
    # Whatever an earlier pass left under this name is not this run's verified file.
    target.unlink(missing_ok=True)
    return ExportedFile(
        path="",
        filename=source.filename,
        size=result.size if result else 0,
        sha256=result.sha256 if result else "",
        checksum_ok=checksum_ok,
        error=error,
    )


def _existing_hash(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
