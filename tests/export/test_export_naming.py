"""Hostile server file names always become one safe, unique name inside files/."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchrun.export.naming import MAX_NAME_BYTES, safe_filename

HOSTILE = [
    "../../../etc/passwd",
    "/etc/shadow",
    "..\\..\\windows\\system32\\config",
    "C:\\Users\\victim\\evil.exe",
    "a\x00b.txt",
    "..",
    ".",
    "...",
    "",
    None,
    "CON",
    "con.txt",
    "LPT1",
    "nul.tar.gz",
    "trailing. . ",
    ".hidden",
    "report\u202etxt.exe",
    "line\nbreak.csv",
    "x" * 5000 + ".pdf",
    "é" * 300,
    "dir/",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_becomes_one_component_inside_the_directory(
    tmp_path: Path, name: str | None
) -> None:
    result = safe_filename(name, set())
    _assert_safe(result)
    target = (tmp_path / result).resolve()
    assert target.parent == tmp_path.resolve()
    target.write_bytes(b"ok")  # the filesystem accepts it


def test_directories_are_stripped_and_the_extension_kept() -> None:
    assert safe_filename("../../etc/passwd", set()) == "passwd"
    assert safe_filename("C:\\Users\\me\\invoice.pdf", set()) == "invoice.pdf"
    long = safe_filename("y" * 400 + ".pdf", set())
    assert long.endswith(".pdf") and len(long.encode()) <= MAX_NAME_BYTES


def test_windows_reserved_names_are_defused() -> None:
    for name in ("CON", "con.txt", "Com1.log", "LPT9", "aux.tar.gz"):
        assert safe_filename(name, set()).startswith("_")
    assert safe_filename("console.txt", set()) == "console.txt"


def test_empty_names_use_the_fallback() -> None:
    assert safe_filename(None, set(), fallback="download") == "download"
    assert safe_filename("../..", set()) == "file"


def test_duplicates_are_numbered_ignoring_case() -> None:
    taken: set[str] = set()
    names = [safe_filename(n, taken) for n in ("a.txt", "A.TXT", "dir/a.txt", "a.txt")]
    assert names == ["a.txt", "A (2).TXT", "a (3).txt", "a (4).txt"]
    assert taken == set(names)


def test_numbered_long_names_stay_within_the_cap() -> None:
    taken: set[str] = set()
    long = "z" * 600 + ".json"
    names = [safe_filename(long, taken) for _ in range(3)]
    assert len(set(names)) == 3
    assert all(len(n.encode()) <= MAX_NAME_BYTES and n.endswith(".json") for n in names)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(st.none() | st.text(st.characters(codec=None), max_size=300), max_size=8))
def test_any_names_give_safe_unique_components(tmp_path: Path, names: list[str | None]) -> None:
    taken: set[str] = set()
    results = [safe_filename(name, taken) for name in names]
    for result in results:
        _assert_safe(result)
        assert (tmp_path / result).resolve().parent == tmp_path.resolve()
    assert len({r.casefold() for r in results}) == len(results)
    assert set(results) <= taken


def _assert_safe(name: str) -> None:
    assert name and name not in (".", "..")
    assert not name.startswith(".")
    assert not any(c in name for c in "/\\\x00")
    assert not any(ord(c) < 32 for c in name)
    assert name == name.rstrip(". ")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
