"""Typed, forward-compatible views of Skyvern's responses.

Every model accepts fields it does not know (the API grows) and every enum-typed field
falls back to the plain string for values newer than this code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class RunStatus(StrEnum):
    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    TERMINATED = "terminated"
    COMPLETED = "completed"
    CANCELED = "canceled"


TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {
        RunStatus.COMPLETED,
        RunStatus.FAILED,
        RunStatus.TERMINATED,
        RunStatus.CANCELED,
        RunStatus.TIMED_OUT,
    }
)


class RunType(StrEnum):
    TASK_V1 = "task_v1"
    TASK_V2 = "task_v2"
    TASK_V3 = "task_v3"
    WORKFLOW_RUN = "workflow_run"
    OPENAI_CUA = "openai_cua"
    ANTHROPIC_CUA = "anthropic_cua"
    UI_TARS = "ui_tars"
    YUTORI_NAVIGATOR = "yutori_navigator"


def _as_utc(value: datetime | None) -> datetime | None:
    # Skyvern stores naive UTC and usually sends it without an offset.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _enum_or_str(enum: type[StrEnum]) -> BeforeValidator:
    def convert(value: Any) -> Any:
        if isinstance(value, str) and not isinstance(value, enum):
            try:
                return enum(value)
            except ValueError:
                return value
        return value

    return BeforeValidator(convert)


def _none_as_false(value: Any) -> Any:
    return False if value is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Status = Annotated[RunStatus | str, _enum_or_str(RunStatus)]
Kind = Annotated[RunType | str, _enum_or_str(RunType)]


class SkyvernModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FileInfo(SkyvernModel):
    url: str
    checksum: str | None = None  # SHA-256, lowercase hex
    filename: str | None = None
    file_size: int | None = None
    modified_at: UtcDatetime | None = None
    artifact_id: str | None = None


def artifact_owner_id(run_id: str, app_url: str | None) -> str:
    """The id a run's artifacts are listed by: skyvern-2.0 artifacts hang off the run's `wr_`
    id, found in its app link (skyvern-api.md §11, §18); every other run lists by its own."""
    if run_id.startswith("tsk_v2_") and app_url and "/runs/wr_" in app_url:
        return app_url.rstrip("/").rsplit("/", 1)[-1]
    return run_id


class RunResponse(SkyvernModel):
    """GET /v1/runs/{id} and the run-creation responses, for every run type."""

    run_id: str
    run_type: Kind
    status: Status
    output: Any = None
    downloaded_files: list[FileInfo] | None = None
    recording_url: str | None = None
    recording_archived: bool = False
    screenshot_urls: list[str] | None = None
    failure_reason: str | None = None
    created_at: UtcDatetime | None = None
    modified_at: UtcDatetime | None = None
    queued_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    app_url: str | None = None
    browser_session_id: str | None = None
    step_count: int | None = None
    errors: list[Any] | None = None
    run_request: dict[str, Any] | None = None
    # Workflow runs with a retry policy: terminal-looking while another attempt is scheduled.
    retry_pending: Annotated[bool, BeforeValidator(_none_as_false)] = False
    next_attempt_at: UtcDatetime | None = None
    attempt: int | None = None

    @property
    def is_final(self) -> bool:
        return self.status in TERMINAL_STATUSES and not self.retry_pending


class RunListItem(SkyvernModel):
    """One row of GET /v1/runs; its status is a lagging copy, GET the run for the truth."""

    run_id: str
    task_run_id: str | None = None
    task_run_type: Kind | None = None
    status: Status | None = None
    title: str | None = None
    created_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    workflow_permanent_id: str | None = None
    workflow_deleted: bool | None = None
    trigger_type: str | None = None
    attempt: int | None = None
    retry_pending: Annotated[bool, BeforeValidator(_none_as_false)] = False
    next_attempt_at: UtcDatetime | None = None


class Artifact(SkyvernModel):
    artifact_id: str
    artifact_type: str | None = None
    uri: str | None = None
    signed_url: str | None = None
    checksum: str | None = None
    file_size: int | None = None
    archived: bool | None = None
    task_id: str | None = None
    step_id: str | None = None
    workflow_run_id: str | None = None
    run_id: str | None = None
    created_at: UtcDatetime | None = None
    modified_at: UtcDatetime | None = None


class BulkCancelResult(SkyvernModel):
    # Skyvern spells it `cancelled` here although the run status is `canceled`.
    cancelled: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)


class WebhookReplay(SkyvernModel):
    run_id: str | None = None
    run_type: Kind | None = None
    default_webhook_url: str | None = None
    target_webhook_url: str | None = None
    payload: Any = None  # the exact JSON text that was sent
    headers: dict[str, str] | None = None
    status_code: int | None = None
    latency_ms: int | None = None
    response_body: str | None = None
    error: str | None = None


class TimelineEntry(SkyvernModel):
    type: str | None = None  # "thought" or "block"
    block: dict[str, Any] | None = None
    thought: dict[str, Any] | None = None
    children: list[TimelineEntry] = Field(default_factory=list)
    created_at: UtcDatetime | None = None
    modified_at: UtcDatetime | None = None
