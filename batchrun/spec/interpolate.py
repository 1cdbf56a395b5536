"""Filling strings: `${VAR}` from the environment and `{column}` from a `for_each` row.

Both are done in one left-to-right pass, so text that came from the environment or from a
row is never scanned again (a password containing `{x}` stays as it is). `$${` writes a
literal `${`; in an expanded task `{{` and `}}` write literal braces. A brace that does not
open a `{name}` (JSON in a prompt, `\\d{3}` in a regex) is kept as written.
Values taken from the environment are remembered so that `redact` can put `${VAR}` back
before a request is stored anywhere.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batchrun.spec.yaml_positions import DataPath

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COLUMN = r"[A-Za-z_][A-Za-z0-9_ .-]*"
_ENV_ONLY = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_ENV_AND_ROW = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{|\{\{|\}\}|\{(" + _COLUMN + r")\}")
_WHOLE_ENV = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_WHOLE_PLACEHOLDER = re.compile(r"\{(" + _COLUMN + r")\}")
_HAS_PLACEHOLDER = re.compile(r"\{" + _COLUMN + r"\}")


@dataclass(frozen=True, slots=True)
class RenderProblem:
    path: DataPath
    message: str
    missing_column: str | None = None


@dataclass(slots=True)
class Renderer:
    """Renders the strings of a tree; collects problems instead of stopping at the first."""

    environ: Mapping[str, str]
    row: Mapping[str, Any] | None = None
    row_is_text: bool = False  # a CSV row: every cell is text
    secrets: dict[str, str] = field(default_factory=dict)  # env var name -> value used
    problems: list[RenderProblem] = field(default_factory=list)
    # Where a value was replaced whole by text (a CSV cell or an environment variable),
    # which may stand for a boolean; see `fields.text_booleans`.
    text_paths: list[DataPath] = field(default_factory=list)

    def render(self, value: Any, path: DataPath = ()) -> Any:
        if isinstance(value, str):
            return self.render_string(value, path)
        if isinstance(value, dict):
            return {key: self.render(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.render(item, (*path, index)) for index, item in enumerate(value)]
        return value

    def render_string(self, text: str, path: DataPath) -> Any:
        if self.row is not None:
            whole = _WHOLE_PLACEHOLDER.fullmatch(text)
            if whole:
                # A value that is exactly one placeholder keeps the row value's own type
                # (a JSONL list stays a list, a number a number).
                if self.row_is_text:
                    self.text_paths.append(path)
                value = self._column(whole.group(1), path, raw=True)
                return copy.deepcopy(value) if isinstance(value, dict | list) else value
        if _WHOLE_ENV.fullmatch(text):
            self.text_paths.append(path)
        pattern = _ENV_ONLY if self.row is None else _ENV_AND_ROW
        return pattern.sub(lambda match: self._replacement(match, path), text)

    def _replacement(self, match: re.Match[str], path: DataPath) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if token.startswith("${"):
            return self._env(match.group(1), token, path)
        return str(self._column(match.group(2), path, raw=False))

    def _env(self, name: str | None, token: str, path: DataPath) -> str:
        if name is None:
            message = "'${' without a closing '}' (write '$${' for a literal '${')"
            self.problems.append(RenderProblem(path, message))
            return token
        if not _ENV_NAME.fullmatch(name):
            message = f"invalid environment variable name in {token!r}"
            self.problems.append(RenderProblem(path, message))
            return token
        if name not in self.environ:
            self.problems.append(RenderProblem(path, f"environment variable {name} is not set"))
            return token
        value = self.environ[name]
        self.secrets[name] = value
        return value

    def _column(self, name: str, path: DataPath, *, raw: bool) -> Any:
        assert self.row is not None
        if name not in self.row:
            self.problems.append(RenderProblem(path, f"no column {name!r}", missing_column=name))
            return "{" + name + "}"
        value = self.row[name]
        return value if raw else format_cell(value)


def format_cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def has_placeholder(value: Any) -> bool:
    """Whether a template (or anything inside it) depends on the row."""
    if isinstance(value, str):
        return bool(_HAS_PLACEHOLDER.search(value))
    if isinstance(value, dict):
        return any(has_placeholder(item) for item in value.values())
    if isinstance(value, list):
        return any(has_placeholder(item) for item in value)
    return False


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every environment-provided substring replaced by its `${VAR}`."""
    # Longest first, so a value containing another secret is replaced whole.
    pairs = sorted(((v, k) for k, v in secrets.items() if v), key=lambda p: -len(p[0]))
    if not pairs:
        return copy.deepcopy(value)
    return _redact(value, pairs)


def _redact(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for secret, name in pairs:
            value = value.replace(secret, "${" + name + "}")
        return value
    if isinstance(value, dict):
        return {key: _redact(item, pairs) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, pairs) for item in value]
    return value
