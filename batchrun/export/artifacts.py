"""Screenshots, recordings and other run artifacts, saved when the spec opts in (`export:`).

Artifacts are listed with GET /v1/runs/{id}/artifacts. Their `signed_url` may be a signed
HTTP link, an unsigned content-endpoint link, or (self-hosted, local storage) a `file://`
path, which the client fetches through /v1/artifacts/{id}/content. An expired link is
replaced by GET /v1/artifacts/{id}.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from batchrun.client.models import Artifact
from batchrun.export.exported import ExportedFile
from batchrun.export.fetch import Downloader, Source, fetch_verified
from batchrun.export.naming import safe_filename

_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


class ArtifactClient(Downloader, Protocol):
    async def get_run_artifacts(
        self, run_id: str, artifact_types: Sequence[str] = ()
    ) -> list[Artifact]: ...

    async def get_artifact(self, artifact_id: str) -> Artifact: ...


def requested_artifact_types(
    *, screenshots: bool, recording: bool, artifacts: Sequence[str] = ()
) -> list[str]:
    """The artifact types a spec's `export:` section asks for, without duplicates."""
    wanted = [*artifacts]
    if screenshots:
        wanted.append("screenshot_final")
    if recording:
        wanted.append("recording")
    return list(dict.fromkeys(wanted))


async def download_artifacts(
    client: ArtifactClient,
    run_id: str,
    artifact_types: Sequence[str],
    dest_dir: Path,
    *,
    results_root: Path,
    max_file_size: int,
    checksum_retries: int = 2,
    listed: Sequence[Artifact] | None = None,
) -> list[ExportedFile]:
    """Save the run's artifacts of `artifact_types` into `dest_dir`, in the API's order.

    Names are `<type>-<n><ext>` (`screenshot_final-1.png`), numbered per type in creation
    order, so a rebuild gives the same names. Archived artifacts (cold storage) are
    reported, not fetched. `listed`: the run's artifact list, when the caller already read
    it (it is then not read again).
    """
    if not artifact_types:
        return []
    artifacts = (
        list(listed)
        if listed is not None
        else await client.get_run_artifacts(run_id, artifact_types)
    )
    dest_dir.mkdir(parents=True, exist_ok=True)
    if not dest_dir.resolve().is_relative_to(results_root.resolve()):
        raise ValueError(f"{dest_dir} is not inside the results directory {results_root}")
    taken: set[str] = set()
    per_type: dict[str, int] = {}
    exported: list[ExportedFile] = []
    for artifact in artifacts:
        kind = artifact.artifact_type or "artifact"
        per_type[kind] = per_type.get(kind, 0) + 1
        name = safe_filename(f"{kind}-{per_type[kind]}{_extension(artifact)}", taken)
        if artifact.archived:
            exported.append(
                ExportedFile("", name, 0, "", None, "archived (cold storage), not fetched")
            )
            continue

        async def fresh_source(artifact_id: str = artifact.artifact_id, name: str = name) -> Source:
            return _source(await client.get_artifact(artifact_id), name=name)

        exported.append(
            await fetch_verified(
                client,
                _source(artifact, name=name),
                dest_dir / name,
                results_root=results_root,
                max_file_size=max_file_size,
                checksum_retries=checksum_retries,
                fresh_source=fresh_source,
            )
        )
    return exported


def _source(artifact: Artifact, *, name: str | None) -> Source:
    return Source(
        url=artifact.signed_url or artifact.uri or "",
        artifact_id=artifact.artifact_id,
        checksum=artifact.checksum,
        filename=name,
    )


def _extension(artifact: Artifact) -> str:
    for link in (artifact.uri, artifact.signed_url):
        if link:
            match = _EXTENSION.search(unquote(urlsplit(link).path))
            if match:
                return match.group(0).lower()
    return ""
