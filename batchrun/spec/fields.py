"""Every field of Skyvern's run-task and run-workflow requests (docs/skyvern-api.md §6, §7),
typed, and the
cheap constraints the API documents for them.

A spec task is one of two kinds: a `task` (POST /v1/run/tasks) or, when it names a
`workflow_id`, a `workflow` (POST /v1/run/agents). `RequestFields` accepts the fields of both
so that `defaults` can hold either; `fields_for_kind` says which apply to which.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from batchrun.spec.enums import (
    BROWSER_TYPES,
    DEFAULT_ENGINE,
    ENGINE_SDK_SPELLINGS,
    ENGINES,
    FORBIDDEN_USER_AGENT,
    RUN_WITH,
)
from batchrun.spec.value_types import (
    ExtractionSchemaRef,
    ProxyLocation,
    StrictBool,
    choice,
    int_in,
    url_type,
)
from batchrun.spec.yaml_positions import DataPath

Kind = Literal["task", "workflow"]

_TAG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

Engine = choice("engine", ENGINES, ENGINE_SDK_SPELLINGS)
HttpUrl = url_type("the URL", ("http", "https"))
BrowserAddress = url_type("browser_address", ("http", "https", "ws", "wss"))


# Runs are billed per step and the server's own default is 10: ten thousand steps is far
# beyond any real run, and a typo of a few digits more is caught here, not on the bill.
MAX_STEPS = 10_000


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors; YAML numbers are fine as text."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class RequestFields(SpecModel):
    """The request fields a task, `defaults` or a retry escalation may set."""

    # --- run-task only (docs/skyvern-api.md §6) ---
    prompt: str | None = Field(None, description="The goal (run-task; required for tasks).")
    url: HttpUrl | None = Field(None, description="The start URL.")
    engine: Engine | None = Field(
        None, description=f"Agent engine; SDK spellings are accepted. Default {DEFAULT_ENGINE}."
    )
    data_extraction_schema: ExtractionSchemaRef | None = Field(
        None, description="A JSON Schema for the output: inline, or a .json/.yaml file path."
    )
    error_code_mapping: dict[str, str] | None = Field(
        None, description="Custom error codes the run may return (code -> condition)."
    )
    model: dict[str, Any] | None = Field(None, description="Model config, e.g. {model_name: ...}.")
    publish_workflow: StrictBool | None = Field(
        None, description="Deprecated by Skyvern; true forces skyvern-2.0."
    )
    include_action_history_in_verification: StrictBool | None = None
    # --- run-workflow only (docs/skyvern-api.md §7) ---
    parameters: dict[str, Any] | None = Field(None, description="Workflow parameter values.")
    reuse_browser_session: StrictBool | None = None
    max_elapsed_time_minutes: int_in(1, 480) | None = None  # type: ignore[valid-type]
    ai_fallback: StrictBool | None = None
    browser_type: choice("browser type", BROWSER_TYPES) | None = None  # type: ignore[valid-type]
    run_metadata: dict[str, str] | None = Field(
        None, description="Run tags (workflows): at most 20 keys."
    )
    template: StrictBool | None = Field(
        None, description="Run a template workflow owned by another organization (query param)."
    )
    # --- both kinds ---
    title: str | None = None
    proxy_location: ProxyLocation | None = None
    webhook_url: HttpUrl | None = None
    totp_identifier: str | None = None
    totp_url: HttpUrl | None = None
    browser_session_id: str | None = None
    browser_profile_id: str | None = None
    start_fresh_browser: StrictBool | None = None
    max_screenshot_scrolls: int_in(0, 1000) | None = None  # type: ignore[valid-type]
    extra_http_headers: dict[str, str] | None = None
    cdp_connect_headers: dict[str, str] | None = None
    browser_address: BrowserAddress | None = None
    run_with: choice("run_with", RUN_WITH) | None = None  # type: ignore[valid-type]
    file_ids: list[str] | None = Field(None, max_length=50)
    max_steps: int_in(1, MAX_STEPS) | None = Field(  # type: ignore[valid-type]
        None,
        description=f"Step cap, 1..{MAX_STEPS} (tasks: body; workflows: x-max-steps-override).",
    )
    user_agent: str | None = Field(
        None, description="Sent as the x-user-agent header (never 'skyvern-ui')."
    )


TASK_ONLY_FIELDS = frozenset(
    {
        "prompt",
        "url",
        "engine",
        "data_extraction_schema",
        "error_code_mapping",
        "model",
        "publish_workflow",
        "include_action_history_in_verification",
    }
)
WORKFLOW_ONLY_FIELDS = frozenset(
    {
        "parameters",
        "reuse_browser_session",
        "max_elapsed_time_minutes",
        "ai_fallback",
        "browser_type",
        "run_metadata",
        "template",
    }
)
ALL_REQUEST_FIELDS = frozenset(RequestFields.model_fields)
# Mappings merged key by key (defaults under a task, escalations over earlier attempts).
MERGED_MAPPING_FIELDS = frozenset(
    {
        "extra_http_headers",
        "error_code_mapping",
        "cdp_connect_headers",
        "parameters",
        "run_metadata",
        "model",
    }
)
# Where a field travels when it is not a body field.
HEADER_FIELDS = {"user_agent": "x-user-agent"}
WORKFLOW_HEADER_FIELDS = {"max_steps": "x-max-steps-override"}
WORKFLOW_QUERY_FIELDS = frozenset({"template"})


# The boolean request fields: a value filled whole from text (a CSV cell, an environment
# variable) may spell them "true"/"false", since text has no other way to say it.
BOOLEAN_FIELDS = frozenset(
    {
        "publish_workflow",
        "include_action_history_in_verification",
        "reuse_browser_session",
        "ai_fallback",
        "template",
        "start_fresh_browser",
    }
)
_TEXT_BOOLEANS = {"true": True, "false": False}


# Settings booleans (top level) a whole `${VAR}` may fill, by path.
SETTINGS_BOOLEAN_PATHS = frozenset({("export", "screenshots"), ("export", "recording")})


def is_request_boolean(path: DataPath) -> bool:
    """A boolean field of a task (`("template",)`) or of a retry escalation."""
    task_field = len(path) == 1
    escalation_field = len(path) == 4 and path[:2] == ("retry", "escalate")
    return (task_field or escalation_field) and path[-1] in BOOLEAN_FIELDS


def text_booleans(
    values: dict[str, Any],
    text_paths: list[DataPath],
    is_boolean: Callable[[DataPath], bool] = is_request_boolean,
) -> dict[str, Any]:
    """`values` with "true"/"false" turned into booleans where a whole text value (see
    `Renderer.text_paths`) filled a boolean field."""
    for path in text_paths:
        if not path or not is_boolean(path):
            continue
        parent: Any = values
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and parent.get(path[-1]) in _TEXT_BOOLEANS:
            parent[path[-1]] = _TEXT_BOOLEANS[parent[path[-1]]]
    return values


@lru_cache(maxsize=2)
def fields_for_kind(kind: Kind) -> frozenset[str]:
    excluded = WORKFLOW_ONLY_FIELDS if kind == "task" else TASK_ONLY_FIELDS
    return ALL_REQUEST_FIELDS - excluded


def request_problems(kind: Kind, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every documented constraint `fields` breaks.

    `fields` holds the set (non-null) request fields of one attempt, engine normalised.
    """
    problems: list[tuple[str, str]] = []
    engine = fields.get("engine", DEFAULT_ENGINE) if kind == "task" else None
    if kind == "task":
        if not fields.get("prompt"):
            problems.append(("prompt", "a task needs a non-empty 'prompt' (or a 'workflow_id')"))
        for name in ("browser_profile_id", "start_fresh_browser"):
            if fields.get(name) and engine != "skyvern-2.0":
                problems.append((name, f"{name} works only with engine skyvern-2.0, not {engine}"))
        if fields.get("publish_workflow") and engine != "skyvern-2.0":
            problems.append(
                ("publish_workflow", f"publish_workflow: true forces skyvern-2.0, not {engine}")
            )
    if fields.get("start_fresh_browser"):
        clash = [
            n
            for n in ("browser_session_id", "browser_profile_id", "browser_address")
            if fields.get(n)
        ]
        if clash:
            problems.append(
                (
                    "start_fresh_browser",
                    f"start_fresh_browser cannot be combined with {', '.join(clash)}",
                )
            )
    if kind == "workflow" and fields.get("browser_type"):
        clash = [n for n in ("browser_session_id", "browser_address") if fields.get(n)]
        if clash:
            problems.append(
                ("browser_type", f"browser_type cannot be combined with {', '.join(clash)}")
            )
    if fields.get("user_agent") == FORBIDDEN_USER_AGENT:
        problems.append(
            ("user_agent", "user_agent 'skyvern-ui' makes the server truncate outputs; use another")
        )
    metadata = fields.get("run_metadata")
    if metadata:
        problems.extend(("run_metadata", message) for message in run_metadata_problems(metadata))
    return problems


def run_metadata_problems(metadata: dict[str, str]) -> list[str]:
    """The limits on run tags (docs/skyvern-api.md §7), plus what keeps them usable as
    `tags=key:value` filters."""
    problems = []
    if len(metadata) > 20:
        problems.append(f"at most 20 keys, got {len(metadata)}")
    for key, value in metadata.items():
        if not key.strip() or len(key) > 64:
            problems.append(f"key {key!r} must be 1 to 64 characters")
        elif key.startswith("skyvern."):
            problems.append(f"key {key!r}: keys starting 'skyvern.' are reserved")
        elif not _TAG_KEY.fullmatch(key):
            problems.append(f"key {key!r} must match [A-Za-z0-9][A-Za-z0-9_.-]*")
        if len(value) > 256:
            problems.append(f"value of {key!r} is longer than 256 characters")
        elif value in ("__untagged__", "__other__"):
            problems.append(f"value {value!r} of {key!r} is reserved")
        elif "," in value:
            problems.append(f"value of {key!r} contains ',' (tag filters split on commas)")
    return problems
