"""The fast indented JSON writer writes exactly what json.dumps writes."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchrun.client.models import RunResponse
from batchrun.export.tables import _json_default, to_json


def _reference(value: Any, indent: int = 2) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=_json_default)


class Color(StrEnum):
    RED = "red"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None), max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, indent=st.sampled_from([0, 2, 4]))
def test_any_json_value_is_written_as_json_dumps_writes_it(value: Any, indent: int) -> None:
    assert to_json(value, indent=indent) == _reference(value, indent)


def test_a_run_response_and_odd_values_are_written_as_json_dumps_writes_them() -> None:
    run = RunResponse.model_validate(
        {
            "run_id": "tsk_1",
            "run_type": "task_v1",
            "status": "completed",
            "output": {"price": 3.5, "items": [1, 'é " \\ \n', None, True, {}], "empty": []},
            "created_at": "2026-01-01T00:00:00Z",
            "modified_at": "2026-01-01T00:00:01Z",
        }
    ).model_dump(mode="json")
    odd = {
        "when": datetime(2026, 1, 2, tzinfo=UTC),
        "tuple": (1, 2.0, -0.0, math.inf),
        "enum": Color.RED,
        "set": {"a"},
        1: "int key",
        2.5: "float key",
        None: "none key",
        False: "bool key",
    }
    for value in (run, odd, "plain", 3, None, [], {}):
        assert to_json(value, indent=2) == _reference(value)


def test_a_key_json_cannot_write_is_refused_as_json_dumps_refuses_it() -> None:
    with pytest.raises(TypeError, match="keys must be"):
        to_json({(1, 2): "tuple key"}, indent=2)
