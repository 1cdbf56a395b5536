"""`data_extraction_schema`: an inline JSON Schema or a .json/.yaml file next to the spec,
checked to be a valid JSON Schema before any run is paid for."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchrun.spec.errors import SpecError, SpecIssue
from batchrun.spec.hashing import canonical_json
from batchrun.spec.source_files import (
    DEFAULT_MAX_INPUT_BYTES,
    RAISE_HINT,
    display_path_near,
    read_text,
)
from batchrun.spec.strict_json import loads_strict
from batchrun.spec.yaml_positions import DataPath, load_yaml


@dataclass(frozen=True, slots=True)
class ResolvedSchema:
    schema: dict[str, Any] | None  # None when it could not be used
    problems: list[tuple[DataPath, str]] = field(default_factory=list)  # at the spec value
    issues: list[SpecIssue] = field(default_factory=list)  # inside the schema file


class ExtractionSchemas:
    """Resolves and checks schemas once each, however many tasks share them."""

    def __init__(
        self, spec_path: Path, spec_display: str, *, max_bytes: int = DEFAULT_MAX_INPUT_BYTES
    ) -> None:
        self._spec_path = spec_path
        self._max_bytes = max_bytes
        self._spec_display = spec_display
        self._files: dict[str, ResolvedSchema] = {}
        self._inline: dict[str, ResolvedSchema] = {}

    def resolve(self, value: dict[str, Any] | str) -> ResolvedSchema:
        if isinstance(value, dict):
            key = canonical_json(value)
            if key not in self._inline:
                problems = [
                    (path, f"not a valid JSON Schema: {msg}") for path, msg in _check(value)
                ]
                self._inline[key] = ResolvedSchema(None if problems else value, problems)
            return self._inline[key]
        if value not in self._files:
            self._files[value] = self._load_file(value)
        return self._files[value]

    def _load_file(self, relative: str) -> ResolvedSchema:
        display = display_path_near(self._spec_display, relative)
        try:
            text = read_text(
                self._spec_path.parent / relative,
                display,
                what="schema file",
                max_bytes=self._max_bytes,
                hint=RAISE_HINT,
            )
            schema = _parse(text, display, relative)
        except SpecError as exc:
            return ResolvedSchema(None, [((), f"cannot use {display}")], exc.issues)
        if not isinstance(schema, dict):
            return ResolvedSchema(None, [((), f"{display} must hold a JSON Schema object")])
        problems = [
            (
                (),
                f"{display} is not a valid JSON Schema: {message}"
                + (f" (at {_pointer(path)})" if path else ""),
            )
            for path, message in _check(schema)
        ]
        return ResolvedSchema(None if problems else schema, problems)


def _parse(text: str, display: str, relative: str) -> Any:
    if relative.lower().endswith(".json"):
        try:
            return loads_strict(text)
        except json.JSONDecodeError as exc:
            raise SpecError(
                [SpecIssue(display, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")]
            ) from None
        except (ValueError, RecursionError) as exc:
            raise SpecError([SpecIssue(display, 1, 1, f"invalid JSON: {exc}")]) from None
    return load_yaml(text, display).data


def _check(schema: dict[str, Any]) -> list[tuple[DataPath, str]]:
    # Imported for the specs that have a schema: jsonschema and its meta-schemas weigh 8 MB.
    import jsonschema
    from jsonschema.validators import validator_for

    if not isinstance(schema.get("$schema", ""), str):
        return [(("$schema",), "$schema must be a URI string")]
    with warnings.catch_warnings():
        # An unknown $schema URI warns and falls back to the default draft: fine for us.
        warnings.simplefilter("ignore", DeprecationWarning)
        validator = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [(tuple(exc.absolute_path), exc.message)]
    except RecursionError:
        return [((), "nested too deeply")]
    return []


def _pointer(path: DataPath) -> str:
    return "/" + "/".join(str(part) for part in path)
