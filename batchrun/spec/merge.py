"""Layering request fields: defaults under a task, escalations over earlier attempts.

A later layer's value wins; the mapping fields listed by the caller merge key by key.
`layer` also returns where each merged value was written, so that an error in the merged
result points at the defaults or at the task, wherever the value came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchrun.spec.yaml_positions import DataPath

Origin = dict[DataPath, DataPath]  # merged path prefix -> where it was written


def layer(
    base: Mapping[str, Any],
    base_path: DataPath,
    over: Mapping[str, Any],
    over_path: DataPath,
    merged_mappings: frozenset[str],
) -> tuple[dict[str, Any], Origin]:
    merged: dict[str, Any] = {}
    origin: Origin = {}
    for key, value in base.items():
        merged[key] = value
        origin[(key,)] = (*base_path, key)
    for key, value in over.items():
        below = merged.get(key)
        if key in merged_mappings and isinstance(value, dict) and isinstance(below, dict):
            for sub in below:
                origin[(key, sub)] = (*base_path, key, sub)
            for sub in value:
                origin[(key, sub)] = (*over_path, key, sub)
            merged[key] = {**below, **value}
        else:
            merged[key] = value
        origin[(key,)] = (*over_path, key)
    return merged, origin


def source_of(origin: Origin, path: DataPath, fallback: DataPath) -> DataPath:
    """Where the merged value at `path` was written (its longest recorded prefix)."""
    for end in range(len(path), 0, -1):
        found = origin.get(path[:end])
        if found is not None:
            return (*found, *path[end:])
    return (*fallback, *path)


def apply_overrides(
    fields: Mapping[str, Any], overrides: Mapping[str, Any], merged_mappings: frozenset[str]
) -> dict[str, Any]:
    """`fields` with `overrides` on top; an explicit null removes a field."""
    result = dict(fields)
    for key, value in overrides.items():
        below = result.get(key)
        if value is None:
            result.pop(key, None)
        elif key in merged_mappings and isinstance(value, dict) and isinstance(below, dict):
            result[key] = {**below, **value}
        else:
            result[key] = value
    return result


def value_at(values: Any, path: DataPath) -> Any:
    """The template value at `path`, or the deepest one on the way (a placeholder that a
    row replaced with a whole list or mapping)."""
    current = values
    for part in path:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if not (in_dict or in_list):
            break
        current = current[part]
    return current
