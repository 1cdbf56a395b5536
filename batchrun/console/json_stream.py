"""Printing a big JSON document piece by piece, formatted as `json.dumps(indent=2)` does.

`plan --json` of 100,000 tasks would otherwise build the whole document, then one string of
tens of megabytes with the pure-Python indenting encoder (several seconds). Here every item
of the long list is written as it comes, its scalars through the C encoder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, TextIO

_INDENT = "  "


def write_document(
    out: TextIO,
    head: Mapping[str, Any],
    list_key: str,
    items: Iterable[Mapping[str, Any]],
    tail: Mapping[str, Any],
) -> None:
    """Write `{**head, list_key: [*items], **tail}` (keys in that order) and a newline."""
    out.write("{")
    first = True
    for key, value in head.items():
        out.write(("\n" if first else ",\n") + _member(key, value, 1))
        first = False
    out.write(("\n" if first else ",\n") + f"{_INDENT}{encode_basestring(list_key)}: [")
    empty = True
    for item in items:
        out.write(("\n" if empty else ",\n") + _INDENT * 2 + _value(item, 2))
        empty = False
    out.write("]" if empty else f"\n{_INDENT}]")
    for key, value in tail.items():
        out.write(",\n" + _member(key, value, 1))
    out.write("\n}\n")


def _member(key: str, value: Any, depth: int) -> str:
    return f"{_INDENT * depth}{encode_basestring(key)}: {_value(value, depth)}"


def _value(value: Any, depth: int) -> str:
    """`value` as it stands at `depth` (its first line is not indented, its last line is)."""
    if isinstance(value, Mapping) and value:
        pad = _INDENT * (depth + 1)
        inner = ",\n".join(
            f"{pad}{encode_basestring(str(key))}: {_value(item, depth + 1)}"
            for key, item in value.items()
        )
        return "{\n" + inner + "\n" + _INDENT * depth + "}"
    if isinstance(value, list | tuple) and value:
        pad = _INDENT * (depth + 1)
        inner = ",\n".join(pad + _value(item, depth + 1) for item in value)
        return "[\n" + inner + "\n" + _INDENT * depth + "]"
    return _dumps(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False)
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _dumps(value: Any) -> str:
    """A scalar (or an empty container) as `json.dumps(ensure_ascii=False)` writes it."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return int.__repr__(value)
    if value is None or kind is bool:
        return _CONSTANTS[value]
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _ENCODER.encode(value)
