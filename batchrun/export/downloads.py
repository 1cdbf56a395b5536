"""A finished run's downloaded files, saved under `tasks/<id>/files/` with safe names.

Called as soon as a run reaches a final status, because the links in `downloaded_files`
are signed and expire (1 h to 7 days). A link that has expired anyway is replaced by
fetching the run again.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from batchrun.client.models import FileInfo, RunResponse
from batchrun.export.atomic import is_temp_file
from batchrun.export.exported import ExportedFile
from batchrun.export.fetch import Downloader, Source, fetch_verified
from batchrun.export.naming import safe_filename


async def download_run_files(
    client: Downloader,
    run: RunResponse,
    files_dir: Path,
    *,
    results_root: Path,
    max_file_size: int,
    refresh_run: Callable[[], Awaitable[RunResponse]],
    checksum_retries: int = 2,
) -> list[ExportedFile]:
    """Download every file of `run` into `files_dir`, one `ExportedFile` per FileInfo.

    `results_root` is the batch results directory (`ResultsDir.path`); the returned paths
    are relative to it. A file that cannot be fetched intact is reported in its
    `ExportedFile.error` and nothing is left under its name. Afterwards `files_dir` holds
    exactly this run's files: leftovers of an earlier attempt of the task are removed.
    """
    originals = list(run.downloaded_files or [])
    if not originals and not os.path.lexists(files_dir):
        # Nothing to save and no earlier attempt's files to remove: no folder to make (most
        # runs download nothing; making and resolving it was a tenth of an export's cost).
        return []
    files_dir = _checked_inside(files_dir, results_root)
    taken: set[str] = set()
    names = [
        safe_filename(_server_name(info), taken, fallback=f"file-{index + 1}")
        for index, info in enumerate(originals)
    ]
    refreshed: list[FileInfo] | None = None

    async def fresh_links() -> list[FileInfo]:
        # One GET of the run re-signs every link; share it between the files.
        nonlocal refreshed
        refreshed = list((await refresh_run()).downloaded_files or [])
        return refreshed

    exported: list[ExportedFile] = []
    for index, (info, name) in enumerate(zip(originals, names, strict=True)):
        target = _safe_target(files_dir, name)
        current = _match(info, index, refreshed) if refreshed is not None else info

        async def fresh_source(info: FileInfo = info, index: int = index) -> Source:
            return _source(_match(info, index, await fresh_links()))

        exported.append(
            await fetch_verified(
                client,
                _source(current),
                target,
                results_root=results_root,
                max_file_size=max_file_size,
                checksum_retries=checksum_retries,
                fresh_source=fresh_source,
            )
        )
    _remove_other_files(files_dir, keep=set(names))
    return exported


def _source(info: FileInfo) -> Source:
    return Source(
        url=info.url, artifact_id=info.artifact_id, checksum=info.checksum, filename=info.filename
    )


def _match(original: FileInfo, index: int, fresh: Sequence[FileInfo]) -> FileInfo:
    """The fresh entry for `original`: same artifact id, else same name, else same position."""
    if original.artifact_id:
        for info in fresh:
            if info.artifact_id == original.artifact_id:
                return info
    if original.filename:
        for info in fresh:
            if info.filename == original.filename:
                return info
    if index < len(fresh):
        return fresh[index]
    return original  # the run no longer lists it; the old link fails again and is reported


def _server_name(info: FileInfo) -> str | None:
    if info.filename:
        return info.filename
    path = unquote(urlsplit(info.url).path)
    last = path.rstrip("/").rsplit("/", 1)[-1]
    # An artifact-content URL ends in ".../content", which names nothing.
    if last == "content" and info.artifact_id:
        return info.artifact_id
    return last or None


def _checked_inside(directory: Path, root: Path) -> Path:
    """`directory`, created, after making sure it resolves inside `root` (no symlink escape)."""
    directory.mkdir(parents=True, exist_ok=True)
    resolved = directory.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"{directory} is not inside the results directory {root}")
    return directory


def _safe_target(files_dir: Path, name: str) -> Path:
    target = files_dir / name
    if target.is_symlink():
        # Nothing batchrun writes is a symlink; one here could lead a read or a cleanup
        # outside the results directory.
        target.unlink()
    if target.resolve().parent != files_dir.resolve():
        raise ValueError(f"{name!r} would land outside {files_dir}")
    return target


def _remove_other_files(files_dir: Path, *, keep: set[str]) -> None:
    for entry in files_dir.iterdir():
        if entry.name in keep or is_temp_file(entry.name):
            continue
        if entry.is_symlink() or entry.is_file():
            entry.unlink(missing_ok=True)
