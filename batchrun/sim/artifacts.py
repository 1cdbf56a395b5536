"""A run's artifacts: which exist at a given moment, their records and their links.

Nothing is stored: the recording, the final screenshot and one download per scripted file
are derived from the run's number, its rule and the clock on every read.
"""

from __future__ import annotations

from typing import Any

from batchrun.sim.files import ArtifactBlob
from batchrun.sim.lifecycle import Run
from batchrun.sim.runbook import ORGANIZATION_ID, RunBook, iso, maybe_wall

_DEFAULT_NAMES = {"recording": "recording.webm", "screenshot_final": "screenshot_final.png"}


class RunArtifacts(RunBook):
    def blobs(self, run: Run) -> list[ArtifactBlob]:
        """Recording, final screenshot, then one download per scripted file (index order)."""
        prefix = run.num * 100
        blobs = [
            ArtifactBlob(f"a_{prefix}", "recording"),
            ArtifactBlob(f"a_{prefix + 1}", "screenshot_final"),
        ]
        for index, spec in enumerate(run.rule.files[:98]):
            blobs.append(
                ArtifactBlob(
                    f"a_{prefix + 2 + index}",
                    "download",
                    filename=spec.name,
                    file=spec,
                    seed_key=f"{run.seed}|{run.task_key}|{run.creation_index}|{index}|{spec.name}",
                )
            )
        return blobs

    def existing_blobs(self, run: Run) -> list[tuple[ArtifactBlob, float]]:
        """The artifacts that exist now, each with the offset it was created at."""
        state = self.state(run)
        blobs = self.blobs(run)
        found: list[tuple[ArtifactBlob, float]] = []
        if state.started_offset is not None:
            found.append((blobs[0], state.started_offset))
        if state.finished is not None:
            shot_at = state.finished
            if not run.is_workflow and run.run_type != "task_v2":
                # A task run's final screenshot is written after its status reads final.
                shot_at += self.scenario.final_screenshot_lag * self.time_scale
            if self.clock() - run.created_mono >= shot_at:
                found.append((blobs[1], shot_at))
            if state.status == "completed":
                found += [(blob, state.finished) for blob in blobs[2:]]
        return found

    def content_ready(self, run: Run, blob: ArtifactBlob) -> bool:
        """Whether the bytes of a listed artifact can be fetched yet (recordings lag)."""
        lag = self.scenario.recording_ready_lag
        if blob.artifact_type != "recording" or lag <= 0:
            return True
        finished = self.state(run).finished
        return finished is not None and self.clock() - run.created_mono >= (
            finished + lag * self.time_scale
        )

    def find_blob(self, artifact_id: str) -> tuple[Run, ArtifactBlob, float] | None:
        try:
            number = int(artifact_id.removeprefix("a_"))
        except ValueError:
            return None
        run = self.by_num.get(number // 100)
        if run is None or not artifact_id.startswith("a_"):
            return None
        for blob, offset in self.existing_blobs(run):
            if blob.artifact_id == artifact_id:
                return run, blob, offset
        return None

    def _link(self, run: Run, index: int) -> str:
        blob = self.blobs(run)[index]
        return self.blob_url(run, blob)

    def blob_url(self, run: Run, blob: ArtifactBlob) -> str:
        name = blob.filename or _DEFAULT_NAMES[blob.artifact_type]
        if self.scenario.file_urls == "file":
            return f"file:///data/skyvern/artifacts/{run.run_id}/{name}"
        lifetime = self.scenario.expires_after
        return self.signer.sign(
            blob.artifact_id, name, None if lifetime is None else lifetime * self.time_scale
        )

    def _downloaded_files(self, run: Run) -> list[dict[str, Any]]:
        files = []
        state = self.state(run)
        for blob in self.blobs(run)[2:]:
            files.append(
                {
                    "url": self.blob_url(run, blob),
                    "checksum": blob.checksum,
                    "filename": blob.filename,
                    "file_size": blob.size,
                    "modified_at": maybe_wall(run, state.finished),
                    "artifact_id": blob.artifact_id,
                }
            )
        return files

    def artifact_record(self, run: Run, blob: ArtifactBlob, offset: float) -> dict[str, Any]:
        created = iso(run.wall(offset))
        is_task = not run.is_workflow and run.run_type != "task_v2"
        storage_name = blob.filename or blob.artifact_type
        return {
            "created_at": created,
            "modified_at": created,
            "artifact_id": blob.artifact_id,
            "artifact_type": blob.artifact_type,
            "uri": f"file:///data/skyvern/artifacts/{run.run_id}/{storage_name}",
            "bundle_key": None,
            "checksum": blob.checksum if blob.artifact_type == "download" else None,
            "file_size": blob.size,
            "task_id": run.run_id if is_task else None,
            "step_id": f"stp_{run.num}" if is_task else None,
            "workflow_run_id": run.wr_id or (run.run_id if run.is_workflow else None),
            "workflow_run_block_id": None,
            "run_id": run.run_id,
            "browser_session_id": None,
            "observer_cruise_id": run.run_id if run.run_type == "task_v2" else None,
            "observer_thought_id": None,
            "ai_suggestion_id": None,
            "signed_url": self.blob_url(run, blob),
            "archived": False,
            "organization_id": ORGANIZATION_ID,
        }

    def run_artifacts(self, run_id: str, types: list[str] | None) -> list[dict[str, Any]]:
        run = self.find(run_id)
        # Skyvern looks tsk_ ids up by task id and wr_ ids by workflow run id, so a
        # skyvern-2.0 run's tsk_v2_ id finds nothing on a real server; unknown ids answer [] too.
        if run is None or (run.run_type == "task_v2" and run_id == run.run_id):
            return []
        return [
            self.artifact_record(run, blob, offset)
            for blob, offset in self.existing_blobs(run)
            if types is None or blob.artifact_type in types
        ]
