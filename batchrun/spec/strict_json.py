"""JSON as a spec's files may hold it (JSONL rows, schema files): no NaN or Infinity, and no
number too large to be finite, since no request body sent to the API can carry one."""

from __future__ import annotations

import json
import math
from typing import Any


def loads_strict(text: str) -> Any:
    """`json.loads`, refusing NaN, Infinity and numbers that overflow to infinity."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    # 1e400 parses as inf, which no JSON request body can carry.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is too large")
    return value
