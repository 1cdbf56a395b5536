"""`SpecLoader`: from parsed YAML to a `BatchSpec`, or a `SpecError` listing every problem
(`load.py` reads the file and starts it).

The order of work, and why:
1. read (capped at `max_input_size`) and parse YAML, keeping the line:col of every key and
   value;
2. validate the top-level settings (after `${VAR}`); their `limits` cap what follows;
3. for each task entry: drop its own fields that do not fit its kind (an error), lay it over
   the defaults that fit, stream its `for_each` rows, then for each row fill `{column}` and
   `${VAR}` in one pass *before* type-checking, so a placeholder may stand for a number or
   an engine (once one row passed the full check, the next rows check only the values they
   fill: `row_fill`); then resolve the extraction schema, check the API's cross-field constraints
   for every attempt, and build the requests and their content hash (`task_builder`).
Problems are collected, never raised one at a time, and each points at the YAML (or CSV,
JSONL, schema file) position where the offending value was written.
Warnings (valid, but likely not what was meant: see `advice`) are collected the same way and
returned on the `BatchSpec`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from batchrun.spec.advice import (
    halt_rate_unreachable,
    runs_budget_too_small,
    timeout_before_first_poll,
)
from batchrun.spec.batch import BatchSpec, TaskSpec
from batchrun.spec.errors import IssueCollector, SourceLocation, SpecError, SpecIssue
from batchrun.spec.expand import Row, describe_row, stream_rows
from batchrun.spec.extraction_schema import ExtractionSchemas
from batchrun.spec.fields import SETTINGS_BOOLEAN_PATHS, RequestFields, text_booleans
from batchrun.spec.interpolate import Renderer, RenderProblem, has_placeholder
from batchrun.spec.merge import source_of, value_at
from batchrun.spec.models import (
    DEFAULT_BASE_URL,
    ForEach,
    LimitsSettings,
    RetrySettings,
    SpecFile,
    SpecSettings,
    TaskEntry,
)
from batchrun.spec.policies import export_settings, halt_policy, poll_policy
from batchrun.spec.row_fill import RowFiller
from batchrun.spec.source_files import DEFAULT_MAX_INPUT_BYTES
from batchrun.spec.task_builder import TaskBuilder
from batchrun.spec.templates import Template, build_template
from batchrun.spec.validation import dotted, field_problems
from batchrun.spec.value_types import describe, url_problem
from batchrun.spec.yaml_positions import DataPath, PositionMap

_NOT_DEFAULTS = {
    "id": "each task needs its own id",
    "workflow_id": "set it on each workflow task",
    "for_each": "set it on a task",
    "retry": "use the top-level 'retry'",
    "timeout": "use the top-level 'timeout'",
}


@dataclass(frozen=True, slots=True)
class _FirstSeen:
    """Where a task id was first seen, kept small: one per task of a 1,000,000-row file."""

    entry_path: DataPath
    row_number: int = 0  # 0 for a task without for_each
    row_line: int = 0
    row_file: str | None = None

    def row(self) -> str:
        """ "row 3 of products.csv:4", or "" for a task without for_each."""
        if not self.row_number:
            return ""
        return describe_row(self.row_number, self.row_line, self.row_file)


class SpecLoader:
    def __init__(
        self,
        path: Path,
        positions: PositionMap,
        environ: Mapping[str, str],
        max_input_size: int = DEFAULT_MAX_INPUT_BYTES,
        only_ids: Collection[str] | None = None,
        *,
        keep_tasks: bool = True,
    ) -> None:
        self._only_ids = only_ids
        self._path = path
        self._positions = positions
        self._environ = environ
        self._issues = IssueCollector()
        self._warnings = IssueCollector()
        self._poll_interval: float | None = None  # known once the settings are valid
        # Replaced once `limits` is read; row and schema files are read only after that.
        self._limits = LimitsSettings()
        self._max_input_size = max_input_size
        self._schemas = ExtractionSchemas(path, positions.path, max_bytes=max_input_size)
        self._locations: dict[DataPath, SourceLocation] = {}
        self._keep_tasks = keep_tasks
        self.task_count = 0  # tasks built without a problem, kept or not
        self._first_seen: dict[str, _FirstSeen] = {}

    # ----- reporting -------------------------------------------------------------------

    def _report(
        self, path: DataPath, message: str, *, at_key: bool = False, note: str = ""
    ) -> None:
        where = self._positions.key(path) if at_key else self._positions.value(path)
        prefix = f"{dotted(path)}: " if path else ""
        self._issues.add(where, f"{prefix}{message}{note}")

    def _report_model_errors(
        self, error: ValidationError, model: type[BaseModel], base: DataPath, skip: set[DataPath]
    ) -> None:
        for problem in field_problems(error, model):
            if not any(problem.path[: len(s)] == s for s in skip):
                self._report((*base, *problem.path), problem.message, at_key=problem.at_key)

    # ----- the whole file --------------------------------------------------------------

    def load(self, data: Any) -> BatchSpec:
        display = self._positions.path
        if data is None:
            raise SpecError(
                [SpecIssue(display, 1, 1, "the spec is empty: it needs 'name' and 'tasks'")]
            )
        if not isinstance(data, dict):
            where = self._positions.value(())
            message = f"the spec must be a mapping with 'name' and 'tasks', got {describe(data)}"
            raise SpecError([SpecIssue.at(where, message)])
        settings = self._settings(data)
        self._set_limits(settings.limits if settings is not None else self._limits_alone(data))
        self._poll_interval = settings.poll.interval if settings is not None else None
        defaults = self._defaults(data)
        # A broken top-level retry/timeout is reported once; tasks are checked without it.
        shared = {key: data[key] for key in ("retry", "timeout") if key in data}
        if settings is None:
            valid = self._valid_top_level(shared)
            shared = {key: value for key, value in shared.items() if key in valid}
        tasks = self._tasks(data, defaults, shared)
        count = self.task_count
        base_url = self._base_url(settings)
        self._issues.raise_if_any()
        assert settings is not None and base_url is not None
        max_runs = settings.budget.max_runs
        too_few = runs_budget_too_small(max_runs, count) if max_runs else None
        if too_few:
            self._warnings.add(self._positions.value(("budget", "max_runs")), too_few)
        halt = settings.halt
        unreachable = halt_rate_unreachable(halt, count) if halt else None
        if unreachable:
            self._warnings.add(self._positions.value(("halt", "min_ended")), unreachable)
        return BatchSpec(
            name=settings.name,
            path=self._path,
            api_base_url=base_url,
            api_key_env=settings.api.api_key_env,
            concurrency=settings.concurrency,
            per_host_concurrency=settings.per_host_concurrency,
            budget_max_steps=settings.budget.max_steps,
            budget_max_runs=settings.budget.max_runs,
            results_dir=Path(settings.results),
            export=export_settings(settings.export),
            poll=poll_policy(settings.poll),
            tasks=tasks,
            halt=halt_policy(settings.halt),
            diff_ignore=tuple(settings.diff.ignore),
            warnings=self._warnings.in_order(),
        )

    def _settings(self, data: dict[str, Any]) -> SpecSettings | None:
        raw = {key: value for key, value in data.items() if key not in ("defaults", "tasks")}
        renderer = Renderer(self._environ)
        rendered = renderer.render(raw)
        is_boolean = SETTINGS_BOOLEAN_PATHS.__contains__
        rendered = text_booleans(rendered, renderer.text_paths, is_boolean)
        for problem in renderer.problems:
            self._report(problem.path, problem.message)
        skip = {problem.path for problem in renderer.problems}
        if "tasks" not in data:
            self._report((), "missing required key 'tasks'")
        try:
            return SpecSettings.model_validate(rendered)
        except ValidationError as exc:
            # Suggestions for unknown top-level keys come from the whole file's model.
            self._report_model_errors(exc, SpecFile, (), skip)
            return None

    def _limits_alone(self, data: dict[str, Any]) -> LimitsSettings:
        """`limits` when other settings are broken: the tasks are still checked under it."""
        renderer = Renderer(self._environ)
        try:
            return LimitsSettings.model_validate(renderer.render(data.get("limits") or {}))
        except ValidationError:
            return LimitsSettings()  # reported with the settings

    def _set_limits(self, limits: LimitsSettings) -> None:
        self._limits = limits
        if limits.max_input_size is not None:
            self._max_input_size = limits.max_input_size
            display = self._positions.path
            self._schemas = ExtractionSchemas(self._path, display, max_bytes=self._max_input_size)

    def _base_url(self, settings: SpecSettings | None) -> str | None:
        if settings is None:
            return None
        if settings.api.base_url:
            return settings.api.base_url.rstrip("/")
        from_env = self._environ.get("SKYVERN_BASE_URL")
        if from_env:
            if url_problem(from_env, ("http", "https")) is not None:
                self._report((), f"SKYVERN_BASE_URL is not an http(s) URL: {describe(from_env)}")
                return None
            return from_env.rstrip("/")
        return DEFAULT_BASE_URL

    def _defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        raw = data.get("defaults")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self._report(
                ("defaults",), f"expected a mapping of request fields, got {describe(raw)}"
            )
            return {}
        defaults = dict(raw)
        for key, why in _NOT_DEFAULTS.items():
            if key in defaults:
                self._report(("defaults", key), f"{key!r} cannot be a default ({why})", at_key=True)
                del defaults[key]
        # Check the defaults on their own, so that one no task uses is still checked. A
        # value with a {column} placeholder can only be checked once a row fills it.
        renderer = Renderer(self._environ)
        rendered = renderer.render(defaults, ("defaults",))
        for problem in renderer.problems:
            self._report(problem.path, problem.message)
        skip = {problem.path for problem in renderer.problems}
        skip |= {("defaults", key) for key, value in defaults.items() if has_placeholder(value)}
        try:
            RequestFields.model_validate(rendered)
        except ValidationError as exc:
            self._report_model_errors(exc, RequestFields, ("defaults",), {s[1:] for s in skip})
            # Reported once here; tasks are checked without the broken defaults.
            broken = {
                problem.path[0] for problem in field_problems(exc, RequestFields) if problem.path
            }
            placeholders = {path[1] for path in skip if len(path) > 1}
            return {k: v for k, v in defaults.items() if k not in broken or k in placeholders}
        return {
            k: v for k, v in defaults.items() if ("defaults", k) not in skip or has_placeholder(v)
        }

    # ----- tasks -----------------------------------------------------------------------

    def _valid_top_level(self, shared: dict[str, Any]) -> set[str]:
        valid = set()
        for key, value in shared.items():
            renderer = Renderer(self._environ)
            rendered = renderer.render(value)
            try:
                RetrySettings.model_validate(
                    rendered
                ) if key == "retry" else TaskEntry.model_validate({"id": "x", "timeout": rendered})
            except ValidationError:
                continue
            if not renderer.problems:
                valid.add(key)
        return valid

    def _tasks(
        self, data: dict[str, Any], defaults: dict[str, Any], shared: dict[str, Any]
    ) -> list[TaskSpec]:
        entries = data.get("tasks")
        if "tasks" in data and not isinstance(entries, list):
            self._report(("tasks",), f"expected a list of tasks, got {describe(entries)}")
            return []
        if not entries:
            if "tasks" in data:
                self._report(("tasks",), "the batch has no tasks")
            return []
        tasks: list[TaskSpec] = []
        positions = 0  # tasks expanded so far, those `only_ids` left out included
        for index, entry in enumerate(entries):
            template = build_template(index, entry, defaults, shared, self._report)
            if template is not None:
                expanded, positions = self._expand(template, first_position=positions)
                tasks.extend(expanded)
            if positions > self._limits.max_tasks:
                message = (
                    f"the batch expands to more than {self._limits.max_tasks} tasks; "
                    "raise limits.max_tasks to allow more"
                )
                self._report(("tasks", index), message)
                break
        return tasks

    def _expand(self, template: Template, first_position: int) -> tuple[list[TaskSpec], int]:
        """The template's tasks, and the position after them."""
        if self._only_ids is not None and not self._only_ids:
            return [], first_position  # the settings alone were asked for
        rows: Iterable[Row | None] = [None]
        row_issues: list[SpecIssue] = []
        if template.for_each is not None:
            streamed = self._rows(template, row_issues)
            if streamed is None:
                return [], first_position
            rows = streamed
        tasks = []
        position = first_position
        filler = RowFiller(template, self._environ) if template.for_each is not None else None
        row = None
        for row in rows:
            if self._only_ids is not None:
                rendered_id = self._render_id(template, row)
                if rendered_id is not None and rendered_id not in self._only_ids:
                    position += 1
                    continue
            task_id, ok, task = self._task(template, row, position, filler)
            if task_id is not None:
                self._check_unique(task_id, template.entry_path, row)
                if ok:
                    self.task_count += 1
                if task is not None:
                    tasks.append(task)
                position += 1
        self._issues.extend(row_issues)
        if template.for_each is not None and row is None and not row_issues:
            self._report((*template.entry_path, "for_each"), "for_each has no rows")
        return tasks, position

    def _render_id(self, template: Template, row: Row | None) -> str | None:
        """The task's id alone, rendered as `_task` renders it (None if it has problems)."""
        is_csv = row is not None and row.header is not None
        renderer = Renderer(self._environ, row.values if row else None, row_is_text=is_csv)
        task_id = renderer.render(template.values.get("id"))
        if renderer.problems or not isinstance(task_id, str | int):
            return None
        return str(task_id)

    def _rows(self, template: Template, issues: list[SpecIssue]) -> Iterator[Row] | None:
        """The template's rows, streamed; None (reported) when `for_each` itself is wrong."""
        path = (*template.entry_path, "for_each")
        renderer = Renderer(self._environ)
        raw = renderer.render(template.for_each, path)
        for problem in renderer.problems:
            self._report(problem.path, problem.message)
        if renderer.problems:
            return None
        try:
            for_each = ForEach.model_validate(raw)
        except ValidationError as exc:
            self._report_model_errors(exc, ForEach, path, set())
            return None
        return stream_rows(
            for_each,
            template.entry_path,
            self._positions,
            self._path,
            issues,
            max_bytes=self._max_input_size,
            max_rows=self._limits.max_tasks,
        )

    def _task(
        self, template: Template, row: Row | None, position: int, filler: RowFiller | None
    ) -> tuple[str | None, bool, TaskSpec | None]:
        """The task's id (for the duplicate check), whether it passed every check, and the
        task (None if it has problems, or when tasks are not kept)."""
        filled = filler.fill(row) if filler is not None and row is not None else None
        if filled is not None:
            entry, secrets = filled
            return entry.id, *self._build(template, row, entry, secrets, position)
        is_csv = row is not None and row.header is not None
        renderer = Renderer(self._environ, row.values if row else None, row_is_text=is_csv)
        rendered = text_booleans(renderer.render(template.values), renderer.text_paths)
        for problem in renderer.problems:
            self._report_render_problem(template, row, problem)
        task_id = rendered.get("id")
        task_id = str(task_id) if isinstance(task_id, str | int) else None
        if renderer.problems:
            return None, False, None
        try:
            entry = TaskEntry.model_validate(rendered)
        except ValidationError as exc:
            for problem in field_problems(exc, TaskEntry):
                self.report_in_task(
                    template, row, problem.path, problem.message, at_key=problem.at_key
                )
            return task_id, False, None
        if filler is not None:
            filler.learn(entry)
        return task_id, *self._build(template, row, entry, renderer.secrets, position)

    def _build(
        self,
        template: Template,
        row: Row | None,
        entry: TaskEntry,
        secrets: dict[str, str],
        position: int,
    ) -> tuple[bool, TaskSpec | None]:
        """Whether the entry passed every check, and its task if tasks are kept."""
        builder = TaskBuilder(self, template, row, entry, secrets)
        checked = builder.check()
        if checked is None:
            return False, None
        if entry.timeout is not None and self._poll_interval is not None:
            early = timeout_before_first_poll(entry.timeout, self._poll_interval)
            if early:
                self.warn_in_task(template, ("timeout",), early)
        return True, builder.spec(checked, position) if self._keep_tasks else None

    def report_in_task(
        self,
        template: Template,
        row: Row | None,
        path: DataPath,
        message: str,
        *,
        at_key: bool = False,
    ) -> None:
        source = source_of(template.origin, path, template.entry_path)
        note = ""
        if row is not None and has_placeholder(value_at(template.values, path)):
            note = f" ({row.describe()})"
        self._report(source, message, at_key=at_key, note=note)

    def _report_render_problem(
        self, template: Template, row: Row | None, problem: RenderProblem
    ) -> None:
        if problem.missing_column is None or row is None:
            self.report_in_task(template, row, problem.path, problem.message)
            return
        source = source_of(template.origin, problem.path, template.entry_path)
        used_at = self._positions.value(source)
        column = problem.missing_column
        if row.header is not None and column not in row.header:
            # The whole file lacks the column: say it once, at the header.
            message = (
                f"no column {column!r} in the header (columns: {', '.join(row.header)}); "
                f"{dotted(source)} at {used_at} uses it"
            )
            self._issues.add(SourceLocation(row.location.path, 1, 1), message)
            return
        message = (
            f"row {row.number} has no column {column!r} (used by {dotted(source)} at {used_at})"
        )
        self._issues.add(row.location, message)

    def _check_unique(self, task_id: str, entry_path: DataPath, row: Row | None) -> None:
        earlier = self._first_seen.get(task_id)
        if earlier is None:
            seen = _FirstSeen(entry_path)
            if row is not None:
                seen = _FirstSeen(entry_path, row.number, row.location.line, row.file)
            self._first_seen[task_id] = seen
            return
        where = str(self._positions.value((*earlier.entry_path, "id")))
        where += f", {earlier.row()}" if earlier.row_number else ""
        note = f" ({row.describe()})" if row is not None else ""
        message = f"duplicate task id {task_id!r}{note}; also at {where}"
        self._report((*entry_path, "id"), message)

    # ----- for the task builder ----------------------------------------------------------

    def warn_in_task(self, template: Template, path: DataPath, message: str) -> None:
        # No row note: a warning is about what was written, said once for all its rows.
        source = source_of(template.origin, path, template.entry_path)
        self._warnings.add(self._positions.value(source), f"{dotted(source)}: {message}")

    def location_of(self, path: DataPath) -> SourceLocation:
        # One object per task entry, shared by all the tasks its rows expand to.
        location = self._locations.get(path)
        if location is None:
            location = self._locations[path] = self._positions.value(path)
        return location

    @property
    def schemas(self) -> ExtractionSchemas:
        return self._schemas

    def add_issues(self, issues: list[SpecIssue]) -> None:
        self._issues.extend(issues)
