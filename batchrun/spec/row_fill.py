"""Filling a `for_each` template row after row without checking all of it for every row.

A template's values fall in two groups. A value with no brace anywhere in its text (no
`{column}`, no `{{`/`}}` escape) reads the same in every row; the others are filled per row.
Once one row has passed the full check (every value rendered and validated as a `TaskEntry`),
the values no row changes are known good: the following rows render and validate only what
they fill, through a model of those fields alone, and share the rest.

A row for which this finds any problem is handed back to the full path, so every message a
user sees is the one the full check writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from batchrun.spec.expand import Row
from batchrun.spec.fields import SpecModel, text_booleans
from batchrun.spec.interpolate import Renderer
from batchrun.spec.models import TaskEntry
from batchrun.spec.templates import Template


class RowFiller:
    """One template's rows, filled and checked field by field once a row passed in full."""

    def __init__(self, template: Template, environ: Mapping[str, str]) -> None:
        self._values = template.values
        self._environ = environ
        self._filled = tuple(key for key, value in template.values.items() if _has_brace(value))
        # Known once a row passed the full check: its entry, whose values no row changes
        # are shared by the entries of the rows after it.
        self._passed: TaskEntry | None = None
        self._shared_secrets: dict[str, str] = {}
        self._model: type[BaseModel] | None = None

    def learn(self, entry: TaskEntry) -> None:
        """`entry` passed the full check: keep the values no row changes."""
        if self._passed is not None or "id" not in self._filled:
            return  # an id without a placeholder is the same for every row: a duplicate
        renderer = Renderer(self._environ)
        renderer.render({k: v for k, v in self._values.items() if k not in self._filled})
        self._shared_secrets = renderer.secrets
        self._passed = entry
        self._model = _fields_model(self._filled)

    def fill(self, row: Row) -> tuple[TaskEntry, dict[str, str]] | None:
        """The row's entry and the environment values it used, or None when the row needs
        the full check (before any row passed it, or when this one has a problem)."""
        if self._passed is None or self._model is None:
            return None
        renderer = Renderer(self._environ, row.values, row_is_text=row.header is not None)
        filled = {key: renderer.render(self._values[key], (key,)) for key in self._filled}
        if renderer.problems:
            return None
        filled = text_booleans(filled, renderer.text_paths)
        try:
            checked = self._model.model_validate(filled)
        except ValidationError:
            return None
        # Same fields set as the entry that passed (the template's keys): only values differ.
        entry = self._passed.model_copy(update={key: getattr(checked, key) for key in self._filled})
        secrets = self._shared_secrets
        if renderer.secrets:
            secrets = {**secrets, **renderer.secrets}
        return entry, secrets


def _has_brace(value: Any) -> bool:
    if isinstance(value, str):
        return "{" in value or "}" in value
    if isinstance(value, dict):
        return any(_has_brace(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_brace(item) for item in value)
    return False


@lru_cache(maxsize=64)
def _fields_model(names: tuple[str, ...]) -> type[BaseModel]:
    """A model of these `TaskEntry` fields alone, each typed and constrained as there."""
    fields: dict[str, Any] = {
        name: (TaskEntry.model_fields[name].annotation, TaskEntry.model_fields[name])
        for name in names
    }
    return create_model("FilledFields", __base__=SpecModel, **fields)
