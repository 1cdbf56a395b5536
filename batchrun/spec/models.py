"""The pydantic models of the spec file: the source of validation and of the JSON Schema.

`SpecFile` describes the whole YAML document (`batchrun schema` prints its JSON Schema).
Loading validates the pieces separately (settings, then each expanded task) so that `for_each`
placeholders and `${VAR}` are filled before values are type-checked; see `loader`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from batchrun.spec.enums import ARTIFACT_TYPES, DEFAULT_HALT_ON, HALT_MODES, RETRY_ON_VALUES
from batchrun.spec.fields import HttpUrl, RequestFields, SpecModel
from batchrun.spec.value_types import (
    MAX_SAFE_INT,
    Duration,
    OutputPath,
    PositiveDuration,
    Rate,
    Size,
    StrictBool,
    choice,
    float_in,
    int_in,
    pattern_type,
)

DEFAULT_BASE_URL = "https://api.skyvern.com"
# The default and the largest `limits.max_tasks`: ten million tasks is far past what one state
# database and one results directory are built for.
MAX_ROWS = 100_000
MAX_TASKS_CEILING = 10_000_000
DEFAULT_API_KEY_ENV = "SKYVERN_API_KEY"

BatchName = pattern_type(
    r"^[a-z0-9][a-z0-9_-]*$",
    "a batch name is lower-case letters, digits, '_' and '-', starting with a letter or digit",
    max_length=64,
)
TaskId = pattern_type(
    r"^[A-Za-z0-9._-]+$",
    "a task id is letters, digits, '.', '_' and '-' (it names a directory)",
    max_length=128,
    forbidden=(".", ".."),
)
EnvVarName = pattern_type(
    r"^[A-Za-z_][A-Za-z0-9_]*$", "an environment variable name is letters, digits and '_'"
)


class ApiSettings(SpecModel):
    base_url: HttpUrl | None = Field(
        None,
        description=f"Default: $SKYVERN_BASE_URL, else {DEFAULT_BASE_URL}. --api-url overrides.",
    )
    api_key_env: EnvVarName = Field(
        DEFAULT_API_KEY_ENV, description="The environment variable holding the API key."
    )


class BackoffSettings(SpecModel):
    initial: Duration = Field(5.0, description="Wait before the first retry.")
    factor: float_in(1, 10) = Field(  # type: ignore[valid-type]
        2.0, description="Each further wait is this much longer."
    )
    max: Duration = Field(300.0, description="No wait is longer than this.")
    jitter: float_in(0, 1) = Field(  # type: ignore[valid-type]
        0.2, description="Random spread, as a fraction of the wait."
    )


class Escalation(RequestFields):
    """Request overrides for attempt `attempt` and later (cumulative, in list order)."""

    attempt: int_in(2, 100) = Field(  # type: ignore[valid-type]
        description="The first attempt the overrides apply to."
    )


class RetrySettings(SpecModel):
    attempts: int_in(1, 100) = Field(  # type: ignore[valid-type]
        3, description="Total attempts, the first included."
    )
    on: list[choice("retry status", RETRY_ON_VALUES)] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["failed"],
        description="Terminal statuses retried; invalid_output = missing/empty/invalid output.",
    )
    backoff: BackoffSettings = Field(default_factory=BackoffSettings)
    escalate: list[Escalation] = Field(default_factory=list)


class PollSettings(SpecModel):
    interval: PositiveDuration = Field(5.0, description="First wait between status reads.")
    max_interval: PositiveDuration = Field(30.0, description="Longest wait between reads.")

    @model_validator(mode="after")
    def _interval_within_max(self) -> PollSettings:
        if self.interval > self.max_interval:
            raise ValueError("interval is longer than max_interval")
        return self


class BudgetSettings(SpecModel):
    max_steps: int_in(1, MAX_SAFE_INT) | None = Field(  # type: ignore[valid-type]
        None, description="Cap on the total steps spent."
    )
    max_runs: int_in(1, MAX_SAFE_INT) | None = Field(  # type: ignore[valid-type]
        None, description="Cap on the number of runs created."
    )


class ExportSettingsModel(SpecModel):
    screenshots: StrictBool = False
    recording: StrictBool = False
    artifacts: list[choice("artifact type", ARTIFACT_TYPES)] = Field(  # type: ignore[valid-type]
        default_factory=list
    )
    max_file_size: Size = Field(
        1_000_000_000,
        description="Largest file downloaded; KB/MB/GB = 1000^n, KiB/MiB/GiB = 1024^n.",
    )


class HaltSettings(SpecModel):
    """When to stop starting runs: after too many failed tasks, or too high a share."""

    max_failures: int_in(1, MAX_SAFE_INT) | None = Field(  # type: ignore[valid-type]
        None, description="Stop once this many tasks ended failed."
    )
    max_failure_rate: Rate | None = Field(
        None, description="Stop once this share of the ended tasks failed: '30%' or 0.3."
    )
    min_ended: int_in(0, MAX_SAFE_INT) = Field(  # type: ignore[valid-type]
        20, description="max_failure_rate counts only after this many tasks ended."
    )
    on: list[choice("end status", RETRY_ON_VALUES)] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DEFAULT_HALT_ON),
        min_length=1,
        description="End statuses that count as failed (default: all but canceled).",
    )
    mode: choice("halt mode", HALT_MODES) = Field(  # type: ignore[valid-type]
        "soon", description="soon: let runs in flight finish; now: cancel them."
    )

    @model_validator(mode="after")
    def _a_threshold(self) -> HaltSettings:
        if self.max_failures is None and self.max_failure_rate is None:
            raise ValueError("needs max_failures or max_failure_rate (or both)")
        return self


class DiffSettings(SpecModel):
    ignore: list[OutputPath] = Field(
        default_factory=list,
        description="Output paths a diff ignores, e.g. '$.scraped_at', '$.items[*].seen_at'.",
    )


class LimitsSettings(SpecModel):
    """Caps on what a spec may read and expand to, raised for big batches on purpose."""

    max_input_size: Size | None = Field(
        None,
        description="Largest CSV, JSONL or schema file the spec may name. Default 10MB "
        "(or load_spec's max_input_size); the spec file itself stays under that default.",
    )
    max_tasks: int_in(1, MAX_TASKS_CEILING) = Field(  # type: ignore[valid-type]
        MAX_ROWS, description="Most tasks the batch may expand to (and rows in one file)."
    )


class ForEach(SpecModel):
    """Where the rows come from: exactly one of `rows`, `csv`, `jsonl`."""

    rows: list[dict[str, Any]] | None = Field(None, description="Inline rows (mappings).")
    csv: str | None = Field(
        None, description="A CSV file with a header row (relative to the spec)."
    )
    jsonl: str | None = Field(None, description="A file of JSON objects, one per line.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ForEach:
        given = [name for name in ("rows", "csv", "jsonl") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "for_each needs exactly one of rows, csv, jsonl"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class TaskEntry(RequestFields):
    """One task (or, with `for_each`, one per row)."""

    id: TaskId = Field(description="Unique; {column} placeholders allowed with for_each.")
    workflow_id: str | None = Field(
        None, description="Run this saved workflow (wpid_...) instead of a prompt."
    )
    for_each: ForEach | None = None
    retry: RetrySettings | None = Field(None, description="Merged key by key over the batch's.")
    timeout: PositiveDuration | None = Field(None, description="Per attempt.")


class SpecSettings(SpecModel):
    """Everything at the top level except `defaults` and `tasks`."""

    name: BatchName = Field(description="Names the batch in the state and the results.")
    api: ApiSettings = Field(default_factory=ApiSettings)
    concurrency: int_in(1, 1000) = Field(  # type: ignore[valid-type]
        5, description="Runs in flight at once."
    )
    per_host_concurrency: int_in(1, 1000) | None = Field(  # type: ignore[valid-type]
        None, description="Runs in flight at once per task-URL host."
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)
    timeout: PositiveDuration | None = Field(None, description="Per attempt, e.g. '20m'.")
    poll: PollSettings = Field(default_factory=PollSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    results: str = Field("results", min_length=1, description="The results directory.")
    export: ExportSettingsModel = Field(default_factory=ExportSettingsModel)
    halt: HaltSettings | None = Field(None, description="Stop a batch that keeps failing.")
    diff: DiffSettings = Field(default_factory=DiffSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)


class SpecFile(SpecSettings):
    """A batchrun spec file."""

    defaults: RequestFields | None = Field(None, description="Request fields every task inherits.")
    tasks: list[TaskEntry] = Field(min_length=1)


# Any value may be written as `${VAR}`, and in a for_each task as `{column}`: both are
# filled before type-checking, so editors must accept them where a number or enum belongs.
_TEMPLATE_STRING = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\{[A-Za-z_][A-Za-z0-9_ .-]*\}",
    "description": "A ${VAR} or {column} placeholder.",
}
_DOCUMENTATION_KEYS = ("title", "description", "default", "examples")


def spec_json_schema() -> dict[str, Any]:
    schema = SpecFile.model_json_schema()
    schema["title"] = "batchrun spec"
    for definition in [schema, *schema.get("$defs", {}).values()]:
        properties = definition.get("properties", {})
        for name, prop in properties.items():
            properties[name] = _accept_placeholders(prop)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _accept_placeholders(prop: dict[str, Any]) -> dict[str, Any]:
    if prop.get("type") == "string" and not ({"enum", "pattern", "format"} & prop.keys()):
        return prop
    outer = {key: prop[key] for key in _DOCUMENTATION_KEYS if key in prop}
    inner = {key: value for key, value in prop.items() if key not in _DOCUMENTATION_KEYS}
    return {**outer, "anyOf": [inner, _TEMPLATE_STRING]}
