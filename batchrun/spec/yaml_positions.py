"""Safe YAML loading that remembers where every key and value was written.

The events of PyYAML's pure-Python parser are composed here, without recursion, into plain
dicts, lists and scalars, while a `PositionMap` records the line:col of each. On the way it
refuses what has no place in a spec and would make a hostile file expensive: anchors and
aliases (the "billion laughs"), custom tags, merge keys, duplicate keys, more than one
document, absurd nesting. Scalars follow YAML 1.2's core schema, so `on`, `yes` and `no` stay
strings (`retry: {on: [failed]}` means what it says) and dates stay strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml import events

from batchrun.spec.errors import SourceLocation, SpecError, SpecIssue
from batchrun.spec.source_files import line_col_at

PathKey = str | int
DataPath = tuple[PathKey, ...]

MAX_DEPTH = 40

_TAG = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class PositionMap:
    """Where each value (and each mapping key) of a loaded document was written."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._values: dict[DataPath, tuple[int, int]] = {}
        self._keys: dict[DataPath, tuple[int, int]] = {}

    def record(self, data_path: DataPath, mark: yaml.Mark, *, key: bool = False) -> None:
        target = self._keys if key else self._values
        target[data_path] = (mark.line + 1, mark.column + 1)

    def has(self, data_path: DataPath) -> bool:
        return data_path in self._values

    def value(self, data_path: DataPath) -> SourceLocation:
        """The value at `data_path`, or its nearest written ancestor (for a missing key)."""
        for end in range(len(data_path), -1, -1):
            found = self._values.get(data_path[:end])
            if found is not None:
                return SourceLocation(self.path, *found)
        return SourceLocation(self.path, 1, 1)

    def key(self, data_path: DataPath) -> SourceLocation:
        """The key naming `data_path` (for "unknown key" messages), else its value."""
        found = self._keys.get(data_path)
        if found is not None:
            return SourceLocation(self.path, *found)
        return self.value(data_path)


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    data: Any  # None for an empty document
    positions: PositionMap


# libyaml parses ~20x faster than PyYAML's pure-Python parser (a 10 MB file: 1.5 s, not
# 35 s); when it is missing, or when it rejects a file, the pure-Python parser is used, so
# that syntax-error messages are the same everywhere.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def load_yaml(text: str, display_path: str) -> LoadedYaml:
    """Parse one YAML document; any problem is a SpecError at the offending line:col."""
    if _FAST_LOADER is not None:
        positions = PositionMap(display_path)
        try:
            data = _Composer(display_path, positions).compose(yaml.parse(text, Loader=_FAST_LOADER))
        except yaml.YAMLError:
            pass  # reported below, in the pure-Python parser's words
        else:
            return LoadedYaml(data, positions)
    return _load_pure(text, display_path)


def _load_pure(text: str, display_path: str) -> LoadedYaml:
    positions = PositionMap(display_path)
    try:
        data = _Composer(display_path, positions).compose(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.reader.ReaderError as exc:
        line, col = line_col_at(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: control character U+{code:04X} is not allowed"
        raise SpecError([SpecIssue(display_path, line, col, message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
        if exc.problem and exc.context:
            message += f" ({exc.context})"
        raise SpecError([SpecIssue(display_path, line, col, message)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above carries a mark
        raise SpecError([SpecIssue(display_path, 1, 1, f"invalid YAML: {exc}")]) from None
    return LoadedYaml(data, positions)


@dataclass(slots=True)
class _Frame:
    container: dict[str, Any] | list[Any]
    path: DataPath
    pending_key: str | None = None


class _Composer:
    def __init__(self, display_path: str, positions: PositionMap) -> None:
        self._display = display_path
        self._positions = positions

    def _fail(self, mark: yaml.Mark, message: str) -> SpecError:
        return SpecError([SpecIssue(self._display, mark.line + 1, mark.column + 1, message)])

    def compose(self, stream: Iterator[events.Event]) -> Any:
        root: list[Any] = []
        stack: list[_Frame] = []
        documents = 0
        for event in stream:
            if isinstance(event, events.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise self._fail(
                        event.start_mark, "expected one YAML document, found a second one"
                    )
            elif isinstance(event, events.AliasEvent):
                raise self._fail(event.start_mark, "YAML aliases (*name) are not supported")
            elif isinstance(event, events.NodeEvent):
                self._node(event, stack, root)
            elif isinstance(event, events.CollectionEndEvent):
                stack.pop()
        return root[0] if root else None

    def _node(self, event: events.NodeEvent, stack: list[_Frame], root: list[Any]) -> None:
        if event.anchor is not None:
            raise self._fail(event.start_mark, "YAML anchors (&name) are not supported")
        parent = stack[-1] if stack else None
        if parent is not None and isinstance(parent.container, dict) and parent.pending_key is None:
            self._key(event, parent)
            return
        if parent is None:
            path: DataPath = ()
        elif isinstance(parent.container, dict):
            assert parent.pending_key is not None
            path = (*parent.path, parent.pending_key)
        else:
            path = (*parent.path, len(parent.container))
        self._positions.record(path, event.start_mark)
        value: Any
        if isinstance(event, events.ScalarEvent):
            value = self._scalar(event)
        else:
            value = self._collection(event)
            if len(stack) >= MAX_DEPTH:
                raise self._fail(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
        if parent is None:
            root.append(value)
        elif isinstance(parent.container, dict):
            assert parent.pending_key is not None
            parent.container[parent.pending_key] = value
            parent.pending_key = None
        else:
            parent.container.append(value)
        if not isinstance(event, events.ScalarEvent):
            stack.append(_Frame(value, path))

    def _key(self, event: events.NodeEvent, parent: _Frame) -> None:
        if not isinstance(event, events.ScalarEvent):
            raise self._fail(event.start_mark, "mapping keys must be plain strings")
        if event.tag not in (None, "!", _TAG + "str"):
            raise self._fail(event.start_mark, f"unsupported YAML tag {event.tag!r} on a key")
        key = event.value
        if key == "<<" and event.implicit[0]:
            raise self._fail(event.start_mark, "YAML merge keys (<<) are not supported")
        assert isinstance(parent.container, dict)
        if key in parent.container:
            first = self._positions.key((*parent.path, key))
            raise self._fail(
                event.start_mark, f"duplicate key {key!r} (first at line {first.line})"
            )
        parent.pending_key = key
        self._positions.record((*parent.path, key), event.start_mark, key=True)

    def _collection(self, event: events.NodeEvent) -> dict[str, Any] | list[Any]:
        if isinstance(event, events.MappingStartEvent):
            if event.tag not in (None, "!", _TAG + "map"):
                raise self._fail(event.start_mark, f"unsupported YAML tag {event.tag!r}")
            return {}
        if event.tag not in (None, "!", _TAG + "seq"):
            raise self._fail(event.start_mark, f"unsupported YAML tag {event.tag!r}")
        return []

    def _scalar(self, event: events.ScalarEvent) -> Any:
        text = event.value
        tag = event.tag
        if tag in (None, "!"):
            if not event.implicit[0]:  # quoted, or a `!` non-specific tag: always a string
                return text
            tag = self._implicit_tag(text)
        try:
            return _construct(tag, text)
        except ValueError as exc:
            raise self._fail(event.start_mark, str(exc)) from None

    @staticmethod
    def _implicit_tag(text: str) -> str:
        if _NULL.match(text):
            return _TAG + "null"
        if _BOOL.match(text):
            return _TAG + "bool"
        if _INT.match(text):
            return _TAG + "int"
        if _FLOAT.match(text) or _SPECIAL_FLOAT.match(text):
            return _TAG + "float"
        return _TAG + "str"


def _construct(tag: str, text: str) -> Any:
    if tag == _TAG + "str":
        return text
    if tag == _TAG + "null":
        if not _NULL.match(text):
            raise ValueError(f"{text!r} is not null")
        return None
    if tag == _TAG + "bool":
        if not _BOOL.match(text):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() == "true"
    if tag == _TAG + "int":
        if not _INT.match(text):
            raise ValueError(f"{text!r} is not an integer")
        if len(text) > 30:
            raise ValueError(f"number {text[:20]}... is too large")
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)
    if tag == _TAG + "float":
        if _SPECIAL_FLOAT.match(text):
            raise ValueError(f"{text!r}: infinite and NaN numbers are not allowed")
        if not _FLOAT.match(text):
            raise ValueError(f"{text!r} is not a number")
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number {text[:20]} is too large")
        return value
    raise ValueError(f"unsupported YAML tag {tag!r}")
