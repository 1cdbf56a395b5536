"""Warnings: specs that are valid but will not do what they seem to.

Each check is a pure function of loaded values; the loader and the task builder say where
the value concerned was written. A warning never stops a load (`validate --strict` makes
them fatal).
"""

from __future__ import annotations

from typing import Any

from batchrun.spec.enums import INVALID_OUTPUT
from batchrun.spec.models import HaltSettings
from batchrun.spec.value_types import describe_seconds

# Skyvern's v1 engine runs no extraction when the task starts at a URL: its output is null
# even with a data_extraction_schema.
NO_OUTPUT_ENGINE = "skyvern-1.0"
NO_OUTPUT = (
    f"{NO_OUTPUT_ENGINE} with a url returns no output, so the data_extraction_schema is never "
    "filled: every such attempt would end invalid_output or come back empty"
)
OBJECT_WITHOUT_PROPERTIES = (
    "an object with no 'properties': the agent is not told which fields to extract, and any "
    "object passes the output check"
)
INVALID_OUTPUT_WITHOUT_SCHEMA = (
    f"{INVALID_OUTPUT} is retried but the task has no data_extraction_schema: nothing is "
    "checked, only an empty output counts as invalid"
)
# Keys that describe an object's members other than `properties`.
_MEMBER_KEYS = ("properties", "patternProperties", "additionalProperties", "$ref", "allOf",
                "anyOf", "oneOf", "if", "dependentSchemas")  # fmt: skip


def returns_no_output(fields: dict[str, Any]) -> bool:
    """Whether one attempt's request asks for an extraction its engine will not run."""
    return (
        fields.get("engine") == NO_OUTPUT_ENGINE
        and bool(fields.get("url"))
        and fields.get("data_extraction_schema") is not None
    )


def object_without_properties(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    return is_object and not any(key in schema for key in _MEMBER_KEYS)


def invalid_output_unchecked(
    kind: str, retry_on: list[str], attempts: list[dict[str, Any]]
) -> bool:
    """`invalid_output` retried for a task whose attempts have no schema to check against.
    (A workflow cannot have one: for it, invalid_output means an empty output, on purpose.)"""
    return (
        kind == "task"
        and INVALID_OUTPUT in retry_on
        and all(fields.get("data_extraction_schema") is None for fields in attempts)
    )


def timeout_before_first_poll(timeout: float, poll_interval: float) -> str | None:
    if timeout >= poll_interval:
        return None
    return (
        f"{describe_seconds(timeout)} is shorter than poll.interval "
        f"({describe_seconds(poll_interval)}): the run's status is first read only after "
        "its timeout has passed"
    )


def halt_rate_unreachable(halt: HaltSettings, task_count: int) -> str | None:
    """A failure rate that needs more ended tasks than the batch has never halts it."""
    if halt.max_failure_rate is None or halt.min_ended <= task_count:
        return None
    return (
        f"halt.min_ended is {halt.min_ended} but the batch has {_tasks(task_count)}: "
        "max_failure_rate never applies"
    )


def runs_budget_too_small(max_runs: int, task_count: int) -> str | None:
    if max_runs >= task_count:
        return None
    never = task_count - max_runs
    return (
        f"budget.max_runs is {max_runs} but the batch has {_tasks(task_count)}: "
        f"at least {never} task{'s' if never != 1 else ''} will never run"
    )


def _tasks(count: int) -> str:
    return f"{count} task{'s' if count != 1 else ''}"
