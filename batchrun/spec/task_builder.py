"""From one validated, filled task entry to a `TaskSpec`: the request of every attempt
(retry escalations applied), the extraction schema resolved, the content hash."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from batchrun.spec.advice import (
    INVALID_OUTPUT_WITHOUT_SCHEMA,
    NO_OUTPUT,
    OBJECT_WITHOUT_PROPERTIES,
    invalid_output_unchecked,
    object_without_properties,
    returns_no_output,
)
from batchrun.spec.batch import AttemptRequest, Backoff, RetryPolicy, TaskSpec, pack_requests
from batchrun.spec.enums import DEFAULT_ENGINE, INVALID_OUTPUT
from batchrun.spec.errors import SourceLocation, SpecIssue
from batchrun.spec.expand import Row
from batchrun.spec.extraction_schema import ExtractionSchemas
from batchrun.spec.fields import (
    HEADER_FIELDS,
    MERGED_MAPPING_FIELDS,
    WORKFLOW_HEADER_FIELDS,
    WORKFLOW_QUERY_FIELDS,
    fields_for_kind,
    request_problems,
)
from batchrun.spec.hashing import request_hash
from batchrun.spec.merge import apply_overrides, source_of
from batchrun.spec.models import RetrySettings, TaskEntry
from batchrun.spec.templates import Template
from batchrun.spec.value_types import url_host
from batchrun.spec.yaml_positions import DataPath


class TaskReporter(Protocol):
    """What the builder needs from the loader: where to report, and shared resources."""

    @property
    def schemas(self) -> ExtractionSchemas: ...

    def report_in_task(
        self,
        template: Template,
        row: Row | None,
        path: DataPath,
        message: str,
        *,
        at_key: bool = False,
    ) -> None: ...

    def location_of(self, path: DataPath) -> SourceLocation: ...

    def add_issues(self, issues: list[SpecIssue]) -> None: ...

    def warn_in_task(self, template: Template, path: DataPath, message: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Checked:
    """A task entry that passed every check: its fields, attempt by attempt."""

    base: dict[str, Any]
    retry: RetrySettings
    attempts: list[dict[str, Any]]


class TaskBuilder:
    """Turns one validated, filled task entry into a TaskSpec (or reports why not)."""

    def __init__(
        self,
        loader: TaskReporter,
        template: Template,
        row: Row | None,
        entry: TaskEntry,
        secrets: dict[str, str],
    ) -> None:
        self._loader = loader
        self._template = template
        self._row = row
        self._entry = entry
        self._secrets = secrets
        self._kind = template.kind
        self._ok = True
        # (attempt, index, overrides) of each retry escalation, in list order.
        self._steps: list[tuple[int, int, dict[str, Any]]] = []
        # For attempts 2..N: the escalations (indices) applied to it, in order.
        self._applied: list[list[int]] = []

    def _report(self, path: DataPath, message: str, *, at_key: bool = False) -> None:
        self._ok = False
        self._loader.report_in_task(self._template, self._row, path, message, at_key=at_key)

    def check(self) -> _Checked | None:
        """Every check and warning, without the task (None if it has problems): `validate`
        keeps no task, so it pays for no request packing and no content hash."""
        entry = self._entry
        allowed = fields_for_kind(self._kind)
        base = {  # in field order (TaskEntry's own fields come after): stable request bodies
            name: value
            for name, value in entry.__dict__.items()
            if value is not None and name in allowed
        }
        if self._kind == "task":
            base.setdefault("engine", DEFAULT_ENGINE)
        retry = entry.retry or RetrySettings()
        base = self._resolve_schema(base, ("data_extraction_schema",))
        base_problems = request_problems(self._kind, base)
        for field_name, message in base_problems:
            self._report((field_name,), message)
        attempts = self._attempt_fields(base, retry, set(base_problems))
        if not self._ok:
            return None
        self._advise(attempts, retry)
        return _Checked(base, retry, attempts)

    def spec(self, checked: _Checked, position: int) -> TaskSpec:
        entry, base = self._entry, checked.base
        requests = tuple(self._request(fields) for fields in checked.attempts)
        first = requests[0]
        url = base.get("url")
        return TaskSpec(
            id=entry.id,
            position=position,
            kind=self._kind,
            retry=retry_policy(checked.retry),
            timeout=entry.timeout,
            output_schema=base.get("data_extraction_schema"),
            content_hash=request_hash(self._kind, first.body, first.headers, first.query),
            engine=base["engine"] if self._kind == "task" else None,
            host=_host(url),
            location=self._loader.location_of(self._template.entry_path),
            packed_requests=pack_requests(requests),
            secrets=self._secrets or NO_SECRETS,
        )

    def _attempt_fields(
        self, base: dict[str, Any], retry: RetrySettings, base_problems: set[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        """Fields for attempts 1..N, N being the last attempt an escalation changes."""
        escalations_path = source_of(self._template.origin, ("retry", "escalate"), ())
        own_escalations = (
            escalations_path[: len(self._template.entry_path)] == self._template.entry_path
        )
        allowed = fields_for_kind(self._kind)
        steps = self._steps
        for index, escalation in enumerate(retry.escalate):
            where: DataPath = ("retry", "escalate", index)
            if escalation.attempt > retry.attempts:
                self._report(
                    (*where, "attempt"),
                    f"attempt {escalation.attempt} never happens "
                    f"(retry.attempts is {retry.attempts})",
                )
            overrides = {}
            for name in sorted(escalation.model_fields_set - {"attempt"}):
                if name in allowed:
                    overrides[name] = getattr(escalation, name)
                elif own_escalations:
                    self._report(
                        (*where, name), f"{name!r} does not apply to a {self._kind}", at_key=True
                    )
            steps.append((escalation.attempt, index, overrides))
        last = max((attempt for attempt, _, _ in steps), default=1)
        attempts = [base]
        for number in range(2, min(last, retry.attempts) + 1):
            fields = base
            applied: int | None = None
            self._applied.append([])
            for attempt, index, overrides in steps:
                if attempt <= number:
                    fields = apply_overrides(fields, overrides, MERGED_MAPPING_FIELDS)
                    applied = index
                    self._applied[-1].append(index)
            if applied is None:
                attempts.append(base)
                continue
            where = ("retry", "escalate", applied)
            fields = self._resolve_schema(fields, (*where, "data_extraction_schema"))
            for field_name, message in request_problems(self._kind, fields):
                if (field_name, message) not in base_problems:
                    self._report(where, f"attempt {number}: {message}")
            attempts.append(fields)
        return attempts

    def _advise(self, attempts: list[dict[str, Any]], retry: RetrySettings) -> None:
        """Warn about what loads but will not work as it reads (see `advice`)."""
        warn = self._loader.warn_in_task
        template = self._template
        base = attempts[0]
        if returns_no_output(base):
            warn(template, ("engine",), NO_OUTPUT)
        for number, fields in enumerate(attempts[1:], start=2):
            if returns_no_output(fields) and not returns_no_output(attempts[number - 2]):
                warn(template, self._escalation_cause(number), f"attempt {number}: {NO_OUTPUT}")
        if object_without_properties(base.get("data_extraction_schema")):
            warn(template, ("data_extraction_schema",), OBJECT_WITHOUT_PROPERTIES)
        for _, index, overrides in self._steps:
            value = overrides.get("data_extraction_schema")
            if value is not None and object_without_properties(
                self._loader.schemas.resolve(value).schema
            ):
                where: DataPath = ("retry", "escalate", index, "data_extraction_schema")
                warn(template, where, OBJECT_WITHOUT_PROPERTIES)
        if invalid_output_unchecked(self._kind, retry.on, attempts):
            warn(
                template,
                ("retry", "on", retry.on.index(INVALID_OUTPUT)),
                INVALID_OUTPUT_WITHOUT_SCHEMA,
            )

    def _escalation_cause(self, number: int) -> DataPath:
        """The escalation value that made attempt `number` ask skyvern-1.0 for an output."""
        for index in reversed(self._applied[number - 2]):
            overrides = self._steps[index][2]
            for key in ("engine", "url", "data_extraction_schema"):
                if key in overrides:
                    return ("retry", "escalate", index, key)
        return ("retry", "escalate")

    def _resolve_schema(self, fields: dict[str, Any], where: DataPath) -> dict[str, Any]:
        value = fields.get("data_extraction_schema")
        if value is None:
            return fields
        resolved = self._loader.schemas.resolve(value)
        self._loader.add_issues(resolved.issues)
        for sub_path, message in resolved.problems:
            self._report((*where, *sub_path), message)
        if resolved.issues:
            self._ok = False
        return {**fields, "data_extraction_schema": resolved.schema}

    def _request(self, fields: dict[str, Any]) -> AttemptRequest:
        body: dict[str, Any] = {}
        headers: dict[str, str] = {}
        query: dict[str, str] = {}
        if self._kind == "workflow":
            body["workflow_id"] = self._entry.workflow_id
        for name, value in fields.items():
            if name in HEADER_FIELDS:
                headers[HEADER_FIELDS[name]] = str(value)
            elif self._kind == "workflow" and name in WORKFLOW_HEADER_FIELDS:
                headers[WORKFLOW_HEADER_FIELDS[name]] = str(value)
            elif self._kind == "workflow" and name in WORKFLOW_QUERY_FIELDS:
                if value:
                    query[name] = "true"
            else:
                body[name] = value
        return AttemptRequest(body=body, headers=headers, query=query)


# Shared by every task that has none: a loaded spec holds 100,000 tasks and more. Never
# mutated: nothing writes to a task's secrets.
NO_SECRETS: dict[str, str] = {}


def retry_policy(retry: RetrySettings) -> RetryPolicy:
    """The policy for these settings, one object for all the tasks that share them."""
    backoff = retry.backoff
    return _retry_policy(
        retry.attempts,
        tuple(retry.on),
        (backoff.initial, backoff.factor, backoff.max, backoff.jitter),
    )


@lru_cache(maxsize=256)
def _retry_policy(
    attempts: int, on: tuple[str, ...], backoff: tuple[float, float, float, float]
) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, on=frozenset(on), backoff=Backoff(*backoff))


def _host(url: Any) -> str | None:
    host = url_host(url) if isinstance(url, str) else None
    # Interned: the tasks of one batch mostly share a handful of hosts.
    return sys.intern(host) if host is not None else None
