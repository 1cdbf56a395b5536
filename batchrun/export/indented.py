"""`json.dumps(value, ensure_ascii=False, indent=N, default=...)`, the same text, faster.

With `indent`, the json module cannot use its C encoder and falls back to a chain of Python
generators: writing each task's run.json (a run response of ~60 values) that way was about
5% of `apply`'s CPU. This writes the same characters with one recursive function that
appends to a list, using the C string escaper; `tests/export/test_indented.py` checks it
against `json.dumps` on run responses and on generated values.

Unlike `json.dumps` it does not look for circular references (a value made of JSON, as
everything written here is, has none; a circular one ends in RecursionError instead of
ValueError).
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring  # the C escaper, as json.dumps uses
from typing import Any

_INFINITY = float("inf")


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def dumps_indented(
    value: Any, indent: int, default: Callable[[Any], Any] = _unserializable, *, level: int = 0
) -> str:
    """`value` as json.dumps writes it; `level` > 0: as it reads nested that deep in a larger
    document (its first line not indented, the following ones `level` steps in)."""
    parts: list[str] = []
    step = " " * indent
    _value(value, parts, "\n" + step * level, step, default)
    return "".join(parts)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _value(
    value: Any, parts: list[str], newline: str, step: str, default: Callable[[Any], Any]
) -> None:
    # The order of the checks is json.encoder's (bool before int, str subclasses as str).
    if isinstance(value, str):
        parts.append(encode_basestring(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_float(value))
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = newline + step
        separator = "," + inner
        parts.append("[" + inner)
        first = True
        for item in value:
            if not first:
                parts.append(separator)
            first = False
            _value(item, parts, inner, step, default)
        parts.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + step
        separator = "," + inner
        parts.append("{" + inner)
        first = True
        for key, item in value.items():
            if not first:
                parts.append(separator)
            first = False
            parts.append(encode_basestring(_key(key)) + ": ")
            _value(item, parts, inner, step, default)
        parts.append(newline + "}")
    else:
        _value(default(value), parts, newline, step, default)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
