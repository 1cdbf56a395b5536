"""One task under the magnifier: its attempts from the state and, for one of them, the run
as the API returns it now, with its timeline and artifact list.

`read_inspection` needs only the state file; `add_live_view` asks the API.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from batchrun.client import (
    BadRequestError,
    NotFoundError,
    RunType,
    SkyvernClient,
    SkyvernError,
    artifact_owner_id,
)
from batchrun.errors import UsageError
from batchrun.inspection.lookup import find_task, pick_attempt
from batchrun.inspection.remote import api_unavailable, is_fatal
from batchrun.redaction import Redactor
from batchrun.spec import BatchSpec
from batchrun.state import AttemptRecord, BatchRecord, StateStore, TaskRecord

# Run types that have a timeline (docs/skyvern-api.md §12); a type newer than this code is asked.
TIMELINE_RUN_TYPES = frozenset({RunType.TASK_V2, RunType.WORKFLOW_RUN})
KNOWN_RUN_TYPES = frozenset(RunType)


@dataclass(frozen=True)
class LiveView:
    """What the API says about a run right now; secrets and signed-link queries masked."""

    run: dict[str, Any]
    timeline: list[Any] | None
    timeline_note: str | None  # why there is no timeline
    artifacts: list[dict[str, Any]] | None
    artifacts_note: str | None  # why there is no artifact list


@dataclass(frozen=True)
class TaskInspection:
    spec_name: str
    batch: BatchRecord
    task_id: str
    record: TaskRecord | None  # None: in the spec, never stored by an `apply`
    attempts: list[AttemptRecord]
    chosen: AttemptRecord | None
    live: LiveView | None = None

    @property
    def note(self) -> str | None:
        """Why there is no run to look at, if there is none."""
        if self.record is None or not self.attempts:
            return f"task {self.task_id!r} has no run yet: it has not been submitted"
        if self.chosen is not None and self.chosen.run_id is None:
            why = f": {self.chosen.failure_reason}" if self.chosen.failure_reason else ""
            return f"attempt {self.chosen.number} has no run ({self.chosen.phase}{why})"
        return None

    @property
    def stored_response(self) -> dict[str, Any] | None:
        """The final run response the state kept, when it belongs to the chosen attempt.

        The state keeps the response of the task's last finished run only.
        """
        if self.record is None or self.chosen is None or self.record.run_response is None:
            return None
        if self.record.run_response.get("run_id") != self.chosen.run_id:
            return None
        return self.record.run_response

    def as_json(self) -> dict[str, Any]:
        record = self.record
        live = self.live
        return {
            "batch": self.spec_name,
            "run_key": self.batch.run_key,
            "task": self.task_id,
            "note": self.note,
            "state": None if record is None else _record_json(record),
            "attempts": [_attempt_json(a) for a in self.attempts],
            "attempt": self.chosen.number if self.chosen else None,
            "stored_response": self.stored_response,
            "offline": live is None,
            "run": live.run if live else None,
            "timeline": live.timeline if live else None,
            "timeline_note": live.timeline_note if live else None,
            "artifacts": live.artifacts if live else None,
            "artifacts_note": live.artifacts_note if live else None,
        }


def read_inspection(
    store: StateStore,
    batch: BatchRecord,
    spec: BatchSpec,
    task_id: str,
    attempt_number: int | None,
) -> TaskInspection:
    """Everything the state holds about one task; raises `UsageError` for an unknown task
    or attempt."""
    record = find_task(store, batch, spec, task_id)
    attempts = store.attempts_for_task(batch.id, task_id) if record is not None else []
    chosen = pick_attempt(task_id, attempts, attempt_number)
    return TaskInspection(spec.name, batch, task_id, record, attempts, chosen)


async def add_live_view(
    inspection: TaskInspection, client: SkyvernClient, secrets: Collection[str]
) -> TaskInspection:
    """`inspection` with the chosen attempt's run as the API returns it now.

    A run the server does not know is a `UsageError`; a rejected key or an unreachable
    server is an `ApiUnavailableError`. A missing timeline or artifact list is a note.
    """
    attempt = inspection.chosen
    if attempt is None or attempt.run_id is None:
        return inspection
    run_id = attempt.run_id
    try:
        run = await client.get_run(run_id)
    except NotFoundError as exc:
        raise UsageError(
            f"run {run_id} (task {inspection.task_id!r}, attempt {attempt.number}) does not "
            f"exist on the server at {client.base_url}: {exc.detail}; "
            "`--offline` shows what the state holds"
        ) from None
    except SkyvernError as exc:
        raise api_unavailable(exc, client.base_url) from None
    timeline, timeline_note = await _timeline(client, run_id, run.run_type)
    artifacts, artifacts_note = await _artifacts(client, artifact_owner_id(run_id, run.app_url))
    redactor = Redactor(secrets)
    live = LiveView(
        run=redactor.value(run.model_dump(mode="json")),
        timeline=redactor.value(timeline) if timeline is not None else None,
        timeline_note=timeline_note,
        artifacts=redactor.value(artifacts) if artifacts is not None else None,
        artifacts_note=artifacts_note,
    )
    return replace(inspection, live=live)


async def _timeline(
    client: SkyvernClient, run_id: str, run_type: str
) -> tuple[list[Any] | None, str | None]:
    no_timeline = f"no timeline for run type {run_type}"
    if run_type in KNOWN_RUN_TYPES and run_type not in TIMELINE_RUN_TYPES:
        return None, no_timeline
    try:
        entries = await client.get_run_timeline(run_id)
    except BadRequestError as exc:
        # "Timeline not available for run type X": a fact about the run, not a failure.
        if "timeline not available" in exc.detail.lower():
            return None, no_timeline
        return None, f"timeline unavailable: {exc}"
    except SkyvernError as exc:
        if is_fatal(exc):
            raise api_unavailable(exc, client.base_url) from None
        return None, f"timeline unavailable: {exc}"
    return [entry.model_dump(mode="json") for entry in entries], None


async def _artifacts(
    client: SkyvernClient, owner_id: str
) -> tuple[list[dict[str, Any]] | None, str | None]:
    try:
        artifacts = await client.get_run_artifacts(owner_id)
    except SkyvernError as exc:
        if is_fatal(exc):
            raise api_unavailable(exc, client.base_url) from None
        return None, f"artifact list unavailable: {exc}"
    return [artifact.model_dump(mode="json") for artifact in artifacts], None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _record_json(record: TaskRecord) -> dict[str, Any]:
    return {
        "state": record.state,
        "attempts": record.attempts,
        "run_id": record.run_id,
        "last_status": record.last_status,
        "failure_reason": record.failure_reason,
        "output": record.output,
        "output_verdict": record.output_verdict,
        "validation_error": record.validation_error,
        "step_count": record.step_count,
        "total_steps": record.total_steps,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "app_url": record.app_url,
        "files": record.files,
    }


def _attempt_json(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "phase": str(attempt.phase),
        "run_id": attempt.run_id,
        "run_type": attempt.run_type,
        "status": attempt.status,
        "step_count": attempt.step_count,
        "failure_reason": attempt.failure_reason,
        "prepared_at": _iso(attempt.prepared_at),
        "accepted_at": _iso(attempt.accepted_at),
        "finished_at": _iso(attempt.finished_at),
    }
