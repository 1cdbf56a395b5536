"""Input caps are settings: 10 MB per file and 100,000 tasks by default, raised by the spec's
`limits` (files it names) or `load_spec(max_input_size=...)` (the spec file itself). Row
files are read line by line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from spec_helpers import issues_of, load_text, write_spec

from batchrun.spec import SpecError, load_spec
from batchrun.spec.models import MAX_ROWS
from batchrun.spec.source_files import DEFAULT_MAX_INPUT_BYTES, read_lines

_URL_TASK = """\
tasks:
  - id: "p-{n}"
    prompt: "Read the page"
    url: "{url}"
    for_each: {csv: urls.csv}
"""


def _write_urls_csv(path: Path, rows: int, padding: int) -> int:
    with path.open("w") as handle:
        handle.write("n,url\n")
        for n in range(rows):
            handle.write(f"{n},https://shop.example.com/products/{n}?ref={'x' * padding}\n")
    return path.stat().st_size


def test_a_csv_over_10_mb_is_refused_by_default_and_loads_with_the_limit_raised(
    tmp_path: Path,
) -> None:
    size = _write_urls_csv(tmp_path / "urls.csv", rows=20_000, padding=500)
    assert size > DEFAULT_MAX_INPUT_BYTES
    assert issues_of(tmp_path, "name: big\n" + _URL_TASK) == [
        f"6:21: tasks[0].for_each.csv: CSV file is too large ({size / 1e6:.1f} MB; the limit "
        f"is 10 MB; raise limits.max_input_size): {tmp_path / 'urls.csv'}"
    ]
    started = time.monotonic()
    spec = load_text(tmp_path, "name: big\nlimits: {max_input_size: 20MB}\n" + _URL_TASK)
    assert len(spec.tasks) == 20_000
    assert (
        spec.tasks[-1]
        .request_for_attempt(1)
        .body["url"]
        .startswith("https://shop.example.com/products/19999?ref=xxx")
    )
    assert time.monotonic() - started < 120


def test_max_tasks_caps_the_rows_of_a_file_and_the_whole_batch(tmp_path: Path) -> None:
    _write_urls_csv(tmp_path / "urls.csv", rows=4, padding=0)
    assert issues_of(tmp_path, "name: big\nlimits: {max_tasks: 3}\n" + _URL_TASK) == [
        "5:1: more than 3 rows; raise limits.max_tasks to load more"
    ]
    text = (
        "name: big\nlimits: {max_tasks: 5}\n"
        + _URL_TASK
        + "  - {id: a, prompt: hi}\n  - {id: b, prompt: hi}\n"
    )
    assert issues_of(tmp_path, text)[-1] == (
        "9:5: tasks[2]: the batch expands to more than 5 tasks; "
        "raise limits.max_tasks to allow more"
    )
    assert len(load_text(tmp_path, "name: big\nlimits: {max_tasks: 4}\n" + _URL_TASK).tasks) == 4


def test_the_defaults_and_the_bounds_of_limits(tmp_path: Path) -> None:
    assert MAX_ROWS == 100_000
    assert DEFAULT_MAX_INPUT_BYTES == 10_000_000
    limits = "limits: {max_input_size: 0, max_tasks: 10000001}\n"
    text = "name: big\n" + limits + "tasks: [{id: a, prompt: hi}]\n"
    assert issues_of(tmp_path, text) == [
        "2:26: limits.max_input_size: a size must be more than zero bytes, got 0",
        "2:40: limits.max_tasks: must be at most 10000000, got 10000001",
    ]


def test_the_spec_file_itself_is_capped_by_load_spec(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "name: small\ntasks: [{id: a, prompt: hi}]\n" + "#" * 200 + "\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={}, max_input_size=100)
    assert str(caught.value) == f"{path}:1:1: spec file is too large (242 B; the limit is 100 B)"
    assert load_spec(path, environ={}, max_input_size=1000).name == "small"


def test_load_spec_s_cap_applies_to_named_files_unless_the_spec_sets_one(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(
        '{"type": "object", "properties": {"a": {}}}' + " " * 2000
    )
    task = "tasks: [{id: a, prompt: hi, data_extraction_schema: schema.json}]\n"
    path = write_spec(tmp_path, "name: s\n" + task)
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={}, max_input_size=1000)
    assert [issue.message for issue in caught.value.issues] == [
        "schema file is too large (2.0 KB; the limit is 1 KB; raise limits.max_input_size)",
        f"tasks[0].data_extraction_schema: cannot use {tmp_path / 'schema.json'}",
    ]
    path = write_spec(tmp_path, "name: s\nlimits: {max_input_size: 3KB}\n" + task)
    spec = load_spec(path, environ={}, max_input_size=1000)
    assert spec.tasks[0].output_schema == {"type": "object", "properties": {"a": {}}}


def test_rows_are_read_as_the_file_grows(tmp_path: Path) -> None:
    # Read whole, the file would be seen as it was when opened; line by line, it is not.
    path = tmp_path / "rows.csv"
    path.write_text("n\n1\n")
    lines = read_lines(path, str(path), what="CSV file")
    assert next(lines) == "n\n"
    with path.open("a") as handle:
        handle.write("2\n")
    assert list(lines) == ["1\n", "2\n"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending_keeps_its_line_numbers(tmp_path: Path, newline: str) -> None:
    (tmp_path / "urls.csv").write_bytes(
        newline.join(["n,url", "1,https://a.example", "", "2,not a url", ""]).encode()
    )
    assert issues_of(tmp_path, "name: big\n" + _URL_TASK) == [
        "5:10: tasks[0].url: the URL must be an http:// or https:// URL with a host, got "
        f"'not a url' (row 2 of {tmp_path / 'urls.csv'}:4)"
    ]


def test_a_bad_byte_deep_in_a_row_file_is_found_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "urls.csv").write_bytes(b"n,url\n1,https://a.example\n2,https://b\xe9.example\n")
    assert issues_of(tmp_path, "name: big\n" + _URL_TASK) == [
        "6:21: tasks[0].for_each.csv: CSV file is not UTF-8 text (byte 0xe9): "
        f"{tmp_path / 'urls.csv'}"
    ]
