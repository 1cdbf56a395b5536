"""`for_each`: one task per row from inline rows, a CSV or a JSONL file, with `{column}`
placeholders filled in the id and in every string field, nested ones included."""

from __future__ import annotations

import json
from pathlib import Path

from spec_helpers import issues_of, load_text


def test_inline_rows_fill_id_and_nested_strings(tmp_path: Path) -> None:
    spec = load_text(
        tmp_path,
        """\
        name: x
        tasks:
          - id: "p-{sku}"
            title: "Price of {name}"
            url: "https://shop.example.com/p/{sku}?ref=batch"
            prompt: 'Find the price of {name}. Literal braces: {{sku}} and {"json": 1}'
            extra_http_headers: {X-Sku: "{sku}"}
            for_each:
              rows:
                - {sku: a-1, name: Kettle}
                - {sku: b-2, name: Lamp}
        """,
    )
    assert [task.id for task in spec.tasks] == ["p-a-1", "p-b-2"]
    assert [task.position for task in spec.tasks] == [0, 1]
    body = spec.tasks[1].request_for_attempt(1).body
    assert body["title"] == "Price of Lamp"
    assert body["url"] == "https://shop.example.com/p/b-2?ref=batch"
    assert body["prompt"] == 'Find the price of Lamp. Literal braces: {sku} and {"json": 1}'
    assert body["extra_http_headers"] == {"X-Sku": "b-2"}
    assert spec.tasks[1].host == "shop.example.com"


def test_csv_rows_can_fill_numbers_and_engines(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("sku,steps,engine\nk-1,15,skyvern_v1\nl-2,25,skyvern-2.0\n")
    spec = load_text(
        tmp_path,
        """\
        name: x
        tasks:
          - id: "t-{sku}"
            prompt: "Look at {sku}"
            max_steps: "{steps}"
            engine: "{engine}"
            for_each: {csv: rows.csv}
          - {id: after, prompt: hi}
        """,
    )
    first, second, after = spec.tasks
    assert (first.engine, first.request_for_attempt(1).body["max_steps"]) == ("skyvern-1.0", 15)
    assert (second.engine, second.request_for_attempt(1).body["max_steps"]) == ("skyvern-2.0", 25)
    assert after.position == 2


def test_a_whole_placeholder_keeps_the_jsonl_value_type(tmp_path: Path) -> None:
    rows = [
        {"week": "W1", "teams": ["a", "b"], "depth": 2},
        {"week": "W2", "teams": [], "depth": 3},
    ]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    spec = load_text(
        tmp_path,
        """\
        name: x
        tasks:
          - id: "report-{week}"
            workflow_id: wpid_1
            parameters: {teams: "{teams}", depth: "{depth}", label: "week {week}, depth {depth}"}
            for_each: {jsonl: rows.jsonl}
        """,
    )
    assert spec.tasks[0].request_for_attempt(1).body["parameters"] == {
        "teams": ["a", "b"],
        "depth": 2,
        "label": "week W1, depth 2",
    }


def test_a_missing_column_names_the_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text('{"sku": "a"}\n{"name": "no sku"}\n')
    path = tmp_path / "rows.jsonl"
    assert issues_of(
        tmp_path,
        """\
        name: x
        tasks:
          - id: "t-{sku}"
            prompt: hi
            for_each: {jsonl: rows.jsonl}
        """,
    ) == [f"2:1: row 2 has no column 'sku' (used by tasks[0].id at {tmp_path}/spec.yaml:3:9)"]
    assert path.exists()


def test_errors_that_depend_on_the_row_name_it(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("url\nhttps://ok.example.com\nnot a url\n")
    assert issues_of(
        tmp_path,
        """\
        name: x
        tasks:
          - id: "t-{url}"
            prompt: hi
            url: "{url}"
            for_each: {csv: rows.csv}
        """,
    ) == [
        "3:9: tasks[0].id: 't-https://ok.example.com': a task id is letters, digits, '.', '_' "
        f"and '-' (it names a directory), at most 128 characters (row 1 of {tmp_path}/rows.csv:2)",
        "3:9: tasks[0].id: 't-not a url': a task id is letters, digits, '.', '_' and '-' "
        f"(it names a directory), at most 128 characters (row 2 of {tmp_path}/rows.csv:3)",
        "5:10: tasks[0].url: the URL must be an http:// or https:// URL with a host, "
        f"got 'not a url' (row 2 of {tmp_path}/rows.csv:3)",
    ]


def test_an_empty_row_source_is_an_error(tmp_path: Path) -> None:
    assert issues_of(
        tmp_path,
        """\
        name: x
        tasks:
          - {id: "t-{n}", prompt: hi, for_each: {rows: []}}
        """,
    ) == ["3:41: tasks[0].for_each: for_each has no rows"]
