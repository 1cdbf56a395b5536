"""pydantic's validation errors, rewritten as short messages a spec author can act on."""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from batchrun.spec.value_types import describe, did_you_mean
from batchrun.spec.yaml_positions import DataPath


@dataclass(frozen=True, slots=True)
class FieldProblem:
    path: DataPath  # inside the validated value
    message: str
    at_key: bool = False  # point at the key (unknown keys) rather than the value


def field_problems(error: ValidationError, model: type[BaseModel]) -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        if kind == "missing":
            problems.append(FieldProblem(loc[:-1], f"missing required key {loc[-1]!r}"))
        elif kind == "extra_forbidden":
            key = str(loc[-1])
            known = _keys_at(model, loc[:-1])
            message = f"unknown key {key!r}" + did_you_mean(key, known)
            problems.append(FieldProblem(loc, message, at_key=True))
        else:
            problems.append(FieldProblem(loc, _message(kind, item)))
    return problems


def dotted(path: DataPath) -> str:
    """`tasks[2].retry.backoff` for ('tasks', 2, 'retry', 'backoff'); odd keys quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else part
    return text


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


_EXPECTED = {
    "string_type": "text",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "finite_number": "a finite number",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _message(kind: str, item: Any) -> str:
    value = item.get("input")
    ctx = item.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx.get(key)}, got {describe(value)}"
    if kind in ("too_long", "too_short"):
        words = "at most" if kind == "too_long" else "at least"
        limit = ctx.get("max_length" if kind == "too_long" else "min_length")
        unit = "characters" if isinstance(value, str) else "items"
        unit = unit[:-1] if limit == 1 else unit
        return f"must have {words} {limit} {unit}, got {ctx.get('actual_length', len(value))}"
    return str(item.get("msg", kind)).removeprefix("Value error, ")


def _keys_at(model: type[BaseModel], path: DataPath) -> list[str]:
    current: Any = model
    for part in path:
        if isinstance(part, int):
            args = get_args(current)
            current = _unwrap(args[0]) if get_origin(current) is list and args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = _unwrap(field.annotation) if field is not None else None
        else:
            current = None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """`X` from `X | None`, `Optional[X]` or `Annotated[X, ...]`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    return annotation
