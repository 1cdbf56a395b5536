"""Which output fields a diff reports, and how it names them."""

from __future__ import annotations

from typing import Any

import pytest

from batchrun.diffing import MISSING, FieldChange, IgnoreRules, output_changes

M = MISSING

FIELD_CASES: list[tuple[str, Any, Any, list[tuple[str, Any, Any]]]] = [
    # story, old output, new output, [(path, old, new)]
    ("the same output", {"price": 19.99, "tags": ["a"]}, {"price": 19.99, "tags": ["a"]}, []),
    ("a price went up", {"price": 19.99}, {"price": 21.49}, [("$.price", 19.99, 21.49)]),
    ("a key that appeared", {}, {"coupon": "SAVE10"}, [("$.coupon", M, "SAVE10")]),
    ("a key that disappeared", {"coupon": "SAVE10"}, {}, [("$.coupon", "SAVE10", M)]),
    ("null is not a missing key", {"a": None}, {}, [("$.a", None, M)]),
    ("a missing key is not null", {}, {"a": None}, [("$.a", M, None)]),
    ("null became a value", {"a": None}, {"a": 0}, [("$.a", None, 0)]),
    ("nested fields are named by their full path",
     {"seller": {"name": "Ann", "rating": 4}}, {"seller": {"name": "Bob", "rating": 4}},
     [("$.seller.name", "Ann", "Bob")]),
    ("lists compare by index",
     {"items": [{"name": "x"}, {"name": "y"}]}, {"items": [{"name": "x"}, {"name": "z"}]},
     [("$.items[1].name", "y", "z")]),
    ("a reordered list changes at every index",
     {"items": ["a", "b"]}, {"items": ["b", "a"]},
     [("$.items[0]", "a", "b"), ("$.items[1]", "b", "a")]),
    ("a longer list reports its extra elements",
     {"items": [1]}, {"items": [1, 2, 3]}, [("$.items[1]", M, 2), ("$.items[2]", M, 3)]),
    ("a shorter list reports the elements it lost",
     {"items": [1, 2]}, {"items": [1]}, [("$.items[1]", 2, M)]),
    ("a new nested object is one change, not one per field",
     {}, {"seller": {"name": "Ann"}}, [("$.seller", M, {"name": "Ann"})]),
    ("a change of type is reported whole",
     {"price": {"amount": 5}}, {"price": 5}, [("$.price", {"amount": 5}, 5)]),
    ("true is not 1", {"in_stock": True}, {"in_stock": 1}, [("$.in_stock", True, 1)]),
    ("1 and 1.0 are the same JSON number", {"n": 1}, {"n": 1.0}, []),
    ("a number is not its string", {"n": 1}, {"n": "1"}, [("$.n", 1, "1")]),
    ("an output where there was none", None, {"price": 1}, [("$", None, {"price": 1})]),
    ("no output key at all is not a null output", M, None, [("$", M, None)]),
    ("keys that are not identifiers are quoted",
     {"unit price": 1, "*": 1}, {"unit price": 2, "*": 2},
     [('$["unit price"]', 1, 2), ('$["*"]', 1, 2)]),
    ("a scalar output", "42 results", "43 results", [("$", "42 results", "43 results")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("story", "old", "new", "expected"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES]
)
def test_changed_fields(
    story: str, old: Any, new: Any, expected: list[tuple[str, Any, Any]]
) -> None:
    changes = output_changes(old, new)
    assert [(c.path, c.old, c.new) for c in changes] == expected
    # Types matter too: True must not pass for 1, nor 1.0 for 1 in the reported values.
    assert [(type(c.old), type(c.new)) for c in changes] == [
        (type(o), type(n)) for _p, o, n in expected
    ]


IGNORE_CASES: list[tuple[str, list[str], Any, Any, list[str]]] = [
    # story, ignore patterns, old, new, paths still reported
    ("an ignored field is not reported", ["$.seen_at"],
     {"seen_at": 1, "price": 1}, {"seen_at": 2, "price": 2}, ["$.price"]),
    ("a path ignores everything under it", ["$.meta"],
     {"meta": {"a": 1, "b": [1]}}, {"meta": {"a": 2, "b": [2]}}, []),
    ("* matches any list index", ["$.items[*].seen_at"],
     {"items": [{"seen_at": 1, "n": 1}, {"seen_at": 1, "n": 2}]},
     {"items": [{"seen_at": 2, "n": 1}, {"seen_at": 2, "n": 3}]}, ["$.items[1].n"]),
    ("* matches any key", ["$.*.updated"],
     {"a": {"updated": 1}, "b": {"updated": 1, "x": 1}},
     {"a": {"updated": 2}, "b": {"updated": 2, "x": 2}}, ["$.b.x"]),
    ("an ignored key that appears is not reported", ["$.seen_at"], {}, {"seen_at": 1}, []),
    ("an ignored index is not reported", ["$.items[0]"],
     {"items": [1, 1]}, {"items": [2, 2]}, ["$.items[1]"]),
    ("[0] names an index, not a key \"0\"", ["$.m[0]"], {"m": {"0": 1}}, {"m": {"0": 2}},
     ['$.m["0"]']),
    ("$ ignores the whole output", ["$"], {"a": 1}, {"a": 2}, []),
    ("a pattern deeper than the output ignores nothing", ["$.a.b.c"],
     {"a": 1}, {"a": 2}, ["$.a"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("story", "ignore", "old", "new", "reported"), IGNORE_CASES, ids=[c[0] for c in IGNORE_CASES]
)
def test_ignored_fields(
    story: str, ignore: list[str], old: Any, new: Any, reported: list[str]
) -> None:
    assert [c.path for c in output_changes(old, new, IgnoreRules(ignore))] == reported


def test_a_reported_value_does_not_show_its_ignored_parts() -> None:
    rules = IgnoreRules(["$.items[*].seen_at"])
    changes = output_changes({"items": []}, {"items": [{"n": 1, "seen_at": "now"}]}, rules)
    assert changes == [FieldChange("$.items[0]", MISSING, {"n": 1})]


def test_json_form_omits_the_side_where_a_field_is_missing() -> None:
    assert FieldChange("$.a", MISSING, None).as_json() == {"path": "$.a", "to": None}
    assert FieldChange("$.a", None, MISSING).as_json() == {"path": "$.a", "from": None}
    assert FieldChange("$.a", 1, 2).as_json() == {"path": "$.a", "from": 1, "to": 2}
