"""`write_document` writes, piece by piece, exactly what `json.dumps(indent=2)` writes."""

from __future__ import annotations

import io
import json

import pytest

from batchrun.console.json_stream import write_document

ITEMS = [
    {"task": "a", "changed_fields": [], "url": None, "attempts": 0, "ok": True},
    {"task": 'ü "q" \n', "changed_fields": ["body.url", "headers.x"], "ratio": 0.1},
    {"nested": {"deep": {"list": [1, [2, {}], {"k": False}]}, "empty": {}}, "big": 10**20},
    {},
]


@pytest.mark.parametrize("items", [ITEMS, []], ids=["items", "no items"])
@pytest.mark.parametrize("tail", [{}, {"summary": {"create": 3}, "requests": [{"b": {}}]}])
def test_the_streamed_document_reads_as_json_dumps_writes_it(items, tail):
    head = {"batch": "b", "run_key": None, "spec": "/tmp/ä.yaml"}
    out = io.StringIO()
    write_document(out, head, "tasks", iter(items), tail)
    expected = {**head, "tasks": items, **tail}
    assert out.getvalue() == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
