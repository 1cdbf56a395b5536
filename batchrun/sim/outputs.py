"""Deterministic extraction outputs that conform to a run's `data_extraction_schema`.

The same seed and run key always give the same value, so tests can assert exact outputs and
a re-run of "the same task" looks like a real site that has not changed.
"""

from __future__ import annotations

import random
from typing import Any

_WORDS = ("alpha", "bravo", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo")
_MAX_DEPTH = 8


def value_for_schema(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value valid against `schema` (the common JSON Schema subset extraction schemas use)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return _text(rng)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return value_for_schema((non_null or options)[0], rng, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged.update(part)
        return value_for_schema(merged, rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    return _BY_TYPE.get(kind, _string)(schema, rng, depth)


def _object(schema: dict[str, Any], rng: random.Random, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    return {
        name: value_for_schema(sub, rng, depth + 1)
        for name, sub in properties.items()
        if isinstance(name, str)
    }


def _array(schema: dict[str, Any], rng: random.Random, depth: int) -> list[Any]:
    low = int(schema.get("minItems", 1))
    high = int(schema.get("maxItems", max(low, 3)))
    count = rng.randint(low, max(low, high))
    items = schema.get("items", {"type": "string"})
    return [value_for_schema(items, rng, depth + 1) for _ in range(count)]


def _string(schema: dict[str, Any], rng: random.Random, depth: int) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
    if fmt == "date":
        return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if fmt == "email":
        return f"{rng.choice(_WORDS)}@example.com"
    if fmt in ("uri", "url"):
        return f"https://example.com/{rng.choice(_WORDS)}"
    text = _text(rng)
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    while len(text) < low:
        text += " " + rng.choice(_WORDS)
    return text[: int(high)] if high is not None else text


def _number(schema: dict[str, Any], rng: random.Random, depth: int) -> float:
    low = float(schema.get("minimum", 0))
    high = float(schema.get("maximum", low + 1000))
    return round(rng.uniform(low, high), 2)


def _integer(schema: dict[str, Any], rng: random.Random, depth: int) -> int:
    low = int(schema.get("minimum", 0))
    high = int(schema.get("maximum", low + 1000))
    return rng.randint(low, high)


def _boolean(schema: dict[str, Any], rng: random.Random, depth: int) -> bool:
    return rng.random() < 0.5


def _null(schema: dict[str, Any], rng: random.Random, depth: int) -> None:
    return None


def _text(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.randint(1, 999)}"


_BY_TYPE = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "null": _null,
}
