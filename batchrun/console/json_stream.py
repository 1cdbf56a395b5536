"""Printing a big JSON document piece by piece, formatted as `json.dumps(indent=2)` does.

`plan --json` of 100,000 tasks would otherwise build the whole document, then one string of
tens of megabytes with the pure-Python indenting encoder (several seconds). Here every item
of the long list is written as it comes (`export/indented.py` writes each one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring  # the C escaper, as json.dumps uses
from typing import Any, TextIO

from batchrun.export.indented import dumps_indented

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
        out.write(("\n" if first else ",\n") + _member(key, value))
        first = False
    out.write(("\n" if first else ",\n") + f"{_INDENT}{encode_basestring(list_key)}: [")
    empty = True
    for item in items:
        out.write(("\n" if empty else ",\n") + _INDENT * 2 + dumps_indented(item, 2, level=2))
        empty = False
    out.write("]" if empty else f"\n{_INDENT}]")
    for key, value in tail.items():
        out.write(",\n" + _member(key, value))
    out.write("\n}\n")


def _member(key: str, value: Any) -> str:
    return f"{_INDENT}{encode_basestring(key)}: {dumps_indented(value, 2, level=1)}"
