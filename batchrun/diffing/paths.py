"""JSON paths into a task's output: how a diff names a field, and which fields it ignores.

A path is `$` (the whole output) followed by keys and list indexes: `$.price`,
`$.items[0].name`, `$["unit price"]`. A key that is not a plain identifier is written quoted
(`["unit price"]`, `["*"]`), so every printed path parses back to the same field.

Ignore patterns use the same syntax plus `*` for any one key or index (`$.items[*].seen_at`,
`$.*.updated`); a pattern ignores the field it names and everything under it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

Key = str | int  # a dict key or a list index


class _Wildcard:
    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


WILDCARD: Final = _Wildcard()
PatternSegment = Key | _Wildcard

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX = re.compile(r"[0-9]+")
_EXAMPLES = "for example $.price, $.items[0].name or $.items[*].seen_at"


def format_path(path: Iterable[Key]) -> str:
    parts = ["$"]
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _IDENTIFIER.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{json.dumps(key, ensure_ascii=False)}]")
    return "".join(parts)


def parse_path(text: str) -> tuple[PatternSegment, ...]:
    """The segments of `text`; raises ValueError saying what is wrong and where."""
    if not text.startswith("$"):
        raise ValueError(f"{text!r} is not a JSON path: it must start with $ ({_EXAMPLES})")
    segments: list[PatternSegment] = []
    position = 1
    while position < len(text):
        char = text[position]
        if char == ".":
            end = _name_end(text, position + 1)
            name = text[position + 1 : end]
            if not name:
                raise _syntax_error(text, position, "a key is missing after '.'")
            segments.append(WILDCARD if name == "*" else name)
            position = end
        elif char == "[":
            segment, position = _bracket(text, position)
            segments.append(segment)
        else:
            raise _syntax_error(text, position, f"expected '.' or '[', found {char!r}")
    return tuple(segments)


def _name_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end] not in ".[]":
        end += 1
    return end


def _bracket(text: str, start: int) -> tuple[PatternSegment, int]:
    """The segment of the `[...]` at `start`, and the position after its `]`."""
    inner = start + 1
    if text.startswith('"', inner):
        try:
            key, end = json.JSONDecoder().raw_decode(text, inner)
        except json.JSONDecodeError:
            raise _syntax_error(text, inner, "unterminated quoted key") from None
    elif text.startswith("'", inner):
        # Single quotes have no escapes: the key ends at the next quote.
        close = text.find("'", inner + 1)
        if close < 0:
            raise _syntax_error(text, inner, "unterminated quoted key")
        key, end = text[inner + 1 : close], close + 1
    else:
        end = text.find("]", inner)
        if end < 0:
            raise _syntax_error(text, start, "'[' is never closed")
        body = text[inner:end]
        if body == "*":
            return WILDCARD, end + 1
        if not _INDEX.fullmatch(body):
            raise _syntax_error(text, inner, f"[{body}] is neither an index, [*] nor a quoted key")
        return int(body), end + 1
    if not text.startswith("]", end):
        raise _syntax_error(text, end, "expected ']' after the quoted key")
    return key, end + 1


def _syntax_error(text: str, position: int, problem: str) -> ValueError:
    return ValueError(f"{text!r} is not a JSON path: {problem} at character {position + 1}")


class IgnoreRules:
    """The parsed ignore patterns; raises ValueError for the first one that is not a path."""

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        self._patterns = tuple(parse_path(p) for p in patterns)

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def ignores(self, path: Sequence[Key]) -> bool:
        return any(_covers(pattern, path) for pattern in self._patterns)

    def prune(self, value: Any, path: tuple[Key, ...]) -> Any:
        """`value` (found at `path`) without its ignored parts, for showing it in a diff.

        A list loses its ignored elements, so the indexes shown inside it may shift; the
        value is only ever displayed, never compared.
        """
        if not self._patterns:
            return value
        if isinstance(value, Mapping):
            return {
                key: self.prune(item, (*path, key))
                for key, item in value.items()
                if not self.ignores((*path, key))
            }
        if isinstance(value, list | tuple):
            return [
                self.prune(item, (*path, index))
                for index, item in enumerate(value)
                if not self.ignores((*path, index))
            ]
        return value


def _covers(pattern: tuple[PatternSegment, ...], path: Sequence[Key]) -> bool:
    if len(pattern) > len(path):
        return False
    for wanted, key in zip(pattern, path, strict=False):
        if wanted is WILDCARD:
            continue
        # A quoted "0" names a key, [0] an index: the types must agree as well.
        if type(wanted) is not type(key) or wanted != key:
            return False
    return True
