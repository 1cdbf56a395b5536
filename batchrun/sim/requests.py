"""Request validation with the same rules and the same 422 error shape as Skyvern's FastAPI.

FastAPI answers a body or query that fails validation with
`{"detail": [{"type", "loc", "msg", "input", ("ctx")}, ...]}`, `loc` starting with "body" or
"query". Pydantic produces exactly those items, so the models below mirror the server's
(`skyvern/schemas/runs.py`) and `validation_detail` drops only what FastAPI drops (`url`).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from batchrun.client.models import RunStatus, RunType
from batchrun.spec.enums import ARTIFACT_TYPES

M = TypeVar("M", bound=BaseModel)


class RunEngine(StrEnum):
    SKYVERN_V1 = "skyvern-1.0"
    SKYVERN_V2 = "skyvern-2.0"
    SKYVERN_V3 = "skyvern-3.0"
    OPENAI_CUA = "openai-cua"
    ANTHROPIC_CUA = "anthropic-cua"
    UI_TARS = "ui-tars"
    YUTORI_NAVIGATOR = "yutori-navigator"


# Every ArtifactType value of wheel 1.0.56, accepted as a filter even if never produced
# (`unknown` is a read-side placeholder a spec may not ask for, but a filter may name).
ALL_ARTIFACT_TYPES = [*ARTIFACT_TYPES, "unknown"]
ArtifactTypeFilter = StrEnum("ArtifactTypeFilter", {name: name for name in ALL_ARTIFACT_TYPES})  # type: ignore[misc]

ENGINE_RUN_TYPE = {
    RunEngine.SKYVERN_V1: RunType.TASK_V1,
    RunEngine.SKYVERN_V2: RunType.TASK_V2,
    RunEngine.SKYVERN_V3: RunType.TASK_V3,
    RunEngine.OPENAI_CUA: RunType.OPENAI_CUA,
    RunEngine.ANTHROPIC_CUA: RunType.ANTHROPIC_CUA,
    RunEngine.UI_TARS: RunType.UI_TARS,
    RunEngine.YUTORI_NAVIGATOR: RunType.YUTORI_NAVIGATOR,
}

StrMap = dict[str, str]
JsonSchemaLike = dict[str, Any] | list[Any] | str


class TaskRunRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str
    url: str | None = None
    engine: RunEngine = RunEngine.SKYVERN_V1
    title: str | None = None
    proxy_location: str | dict[str, Any] | None = "RESIDENTIAL"
    data_extraction_schema: JsonSchemaLike | None = None
    error_code_mapping: StrMap | None = None
    max_steps: int | None = None
    webhook_url: str | None = None
    totp_identifier: str | None = None
    totp_url: str | None = None
    browser_session_id: str | None = None
    browser_profile_id: str | None = None
    start_fresh_browser: bool = False
    model: dict[str, Any] | None = None
    extra_http_headers: StrMap | None = None
    cdp_connect_headers: StrMap | None = None
    publish_workflow: bool = False
    include_action_history_in_verification: bool | None = False
    max_screenshot_scrolls: int | None = None
    browser_address: str | None = None
    run_with: str | None = None
    file_ids: list[str] | None = None


class WorkflowRunRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    workflow_id: str = Field(alias="agent_id")
    parameters: dict[str, Any] | None = None
    title: str | None = None
    proxy_location: str | dict[str, Any] | None = "RESIDENTIAL"
    webhook_url: str | None = None
    totp_url: str | None = None
    totp_identifier: str | None = None
    browser_session_id: str | None = None
    reuse_browser_session: bool | None = None
    browser_profile_id: str | None = None
    start_fresh_browser: bool = False
    max_screenshot_scrolls: int | None = None
    max_elapsed_time_minutes: Annotated[int, Field(ge=1, le=480, strict=True)] | None = None
    extra_http_headers: StrMap | None = None
    cdp_connect_headers: StrMap | None = None
    browser_address: str | None = None
    ai_fallback: bool | None = None
    run_with: str | None = None
    browser_type: str | None = None
    run_metadata: StrMap | None = None
    file_ids: list[str] | None = None


class BulkCancelRequest(BaseModel):
    run_ids: Annotated[list[str], Field(max_length=100)]


class RetryWebhookRequest(BaseModel):
    webhook_url: str | None = None


class ListRunsQuery(BaseModel):
    page: Annotated[int, Field(ge=1, le=100)] = 1
    page_size: Annotated[int, Field(ge=1, le=100)] = 10
    status: list[RunStatus] | None = None
    run_type: list[RunType] | None = None
    search_key: Annotated[str, Field(min_length=3)] | None = None
    workflow_permanent_id: Annotated[list[str], Field(max_length=50)] | None = None
    tags: list[str] | None = None
    failure_category: Annotated[str, Field(max_length=100)] | None = None


class ArtifactsQuery(BaseModel):
    artifact_type: list[ArtifactTypeFilter] | None = None  # type: ignore[valid-type]


class RequestInvalid(Exception):
    """A request that FastAPI would answer with 422 and this `detail` list."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("request validation failed")
        self.detail = detail


def validation_detail(error: ValidationError, location: str) -> list[dict[str, Any]]:
    detail = []
    for item in error.errors(include_url=False):
        entry: dict[str, Any] = {
            "type": item["type"],
            "loc": [location, *item["loc"]],
            "msg": item["msg"],
            "input": item.get("input"),
        }
        if "ctx" in item:
            entry["ctx"] = {key: _jsonable(value) for key, value in item["ctx"].items()}
        detail.append(entry)
    return detail


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def parse_body(raw: bytes, model: type[M]) -> M:
    """Parse a JSON body like FastAPI: bad JSON and schema failures both become 422."""
    try:
        data = json.loads(raw) if raw else None
    except ValueError as exc:
        position = getattr(exc, "pos", 0)
        raise RequestInvalid(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", position],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": getattr(exc, "msg", str(exc))},
                }
            ]
        ) from exc
    if data is None:
        raise RequestInvalid(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestInvalid(validation_detail(exc, "body")) from exc


def parse_query(params: dict[str, Any], model: type[M]) -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise RequestInvalid(validation_detail(exc, "query")) from exc
