"""Ignore patterns as users write them, and output paths that parse back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchrun.diffing.paths import WILDCARD, format_path, parse_path


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("$", ()),
        ("$.price", ("price",)),
        ("$.items[0].name", ("items", 0, "name")),
        ("$.items[*].seen_at", ("items", WILDCARD, "seen_at")),
        ("$.*.updated", (WILDCARD, "updated")),
        ('$["unit price"]', ("unit price",)),
        ("$['unit price']", ("unit price",)),
        ('$["*"]', ("*",)),  # quoted: the key named *, not a wildcard
        ('$["a\\"b"]', ('a"b',)),
        ("$.in-stock", ("in-stock",)),
    ],
)
def test_patterns_users_write(text: str, segments: tuple[object, ...]) -> None:
    assert parse_path(text) == segments


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("price", "it must start with $"),
        ("output.price", "it must start with $"),
        ("$.", "a key is missing after '.' at character 2"),
        ("$..a", "a key is missing after '.' at character 2"),
        ("$[", "'[' is never closed"),
        ("$[-1]", "[-1] is neither an index, [*] nor a quoted key"),
        ("$[abc]", "[abc] is neither an index"),
        ('$["abc', "unterminated quoted key"),
        ("$['abc", "unterminated quoted key"),
        ('$["a"b]', "expected ']' after the quoted key"),
        ("$price", "expected '.' or '[', found 'p'"),
        ("$.a]", "expected '.' or '[', found ']'"),
    ],
)
def test_bad_patterns_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="is not a JSON path") as raised:
        parse_path(text)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "$"),
        (("price",), "$.price"),
        (("items", 0, "name"), "$.items[0].name"),
        (("unit price",), '$["unit price"]'),
        (("0",), '$["0"]'),
        (("é",), '$["é"]'),
    ],
)
def test_output_paths(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


@given(st.lists(st.one_of(st.text(), st.integers(min_value=0)), max_size=5))
def test_every_printed_path_parses_back_to_the_same_field(path: list[str | int]) -> None:
    # So that a user can paste a path from `batchrun diff` into --ignore.
    assert parse_path(format_path(path)) == tuple(path)
