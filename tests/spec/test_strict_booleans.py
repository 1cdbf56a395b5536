"""Booleans follow YAML 1.2: only true and false. Text (a CSV cell, an environment variable)
that fills a boolean field whole may spell them "true"/"false"; nothing else may."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from spec_helpers import issues_of, load_text

from batchrun.spec.fields import BOOLEAN_FIELDS, RequestFields
from batchrun.spec.models import spec_json_schema

_HINT = "(YAML 1.2: only true and false are booleans)"


@pytest.mark.parametrize("written", ["yes", "off", "0", "1", '"yes"'])
def test_a_workflow_boolean_must_be_true_or_false(tmp_path: Path, written: str) -> None:
    text = f"name: b\ntasks:\n  - {{id: w, workflow_id: wpid_1, ai_fallback: {written}}}\n"
    issues = issues_of(tmp_path, text)
    shown = written.strip('"')
    value = shown if shown.isdigit() else repr(shown)
    assert issues == [f"3:47: tasks[0].ai_fallback: expected true or false, got {value} {_HINT}"]


def test_a_quoted_true_is_text_and_says_so(tmp_path: Path) -> None:
    text = 'name: b\nexport: {recording: "true"}\ntasks: [{id: a, prompt: hi}]\n'
    assert issues_of(tmp_path, text) == [
        "2:21: export.recording: expected true or false, got the string 'true' (remove the quotes)"
    ]


def test_csv_cells_true_and_false_fill_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("k,fresh\na,true\nb,false\n")
    spec = load_text(
        tmp_path,
        """\
        name: b
        tasks:
          - {id: "t-{k}", prompt: hi, start_fresh_browser: "{fresh}", for_each: {csv: rows.csv}}
        """,
    )
    flags = [task.request_for_attempt(1).body["start_fresh_browser"] for task in spec.tasks]
    assert flags == [True, False]


def test_a_csv_cell_must_spell_it_exactly(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("k,fresh\na,True\n")
    issues = issues_of(
        tmp_path,
        'name: b\ntasks:\n  - {id: "t-{k}", prompt: hi, start_fresh_browser: "{fresh}", '
        "for_each: {csv: rows.csv}}\n",
    )
    assert issues == [
        f"3:52: tasks[0].start_fresh_browser: expected true or false, got 'True' {_HINT} "
        f"(row 1 of {tmp_path / 'rows.csv'}:2)"
    ]


def test_jsonl_has_real_booleans_so_a_string_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text('{"k": "a", "fresh": true}\n{"k": "b", "fresh": "true"}\n')
    issues = issues_of(
        tmp_path,
        'name: b\ntasks:\n  - {id: "t-{k}", prompt: hi, start_fresh_browser: "{fresh}", '
        "for_each: {jsonl: rows.jsonl}}\n",
    )
    assert len(issues) == 1
    assert "got the string 'true' (remove the quotes)" in issues[0]


def test_a_whole_environment_variable_may_say_true(tmp_path: Path) -> None:
    text = "name: b\ntasks: [{id: w, workflow_id: wpid_1, template: '${TPL}'}]\n"
    spec = load_text(tmp_path, text, environ={"TPL": "true"})
    assert spec.tasks[0].request_for_attempt(1).query == {"template": "true"}
    assert issues_of(tmp_path, text, environ={"TPL": "yes"}) == [
        f"2:48: tasks[0].template: expected true or false, got 'yes' {_HINT}"
    ]


def test_the_json_schema_agrees() -> None:
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    document = {"name": "b", "tasks": [{"id": "a", "prompt": "hi"}]}
    for value, valid in ((True, True), ("yes", False), (0, False), ("{flag}", True)):
        document["export"] = {"screenshots": value}
        assert validator.is_valid(document) is valid, value


def test_boolean_fields_lists_every_boolean_request_field() -> None:
    properties = json.loads(json.dumps(RequestFields.model_json_schema()))["properties"]
    booleans = {
        name
        for name, prop in properties.items()
        if {"type": "boolean"} in prop.get("anyOf", [prop])
    }
    assert booleans == BOOLEAN_FIELDS


def test_a_whole_environment_variable_may_fill_an_export_boolean(tmp_path: Path) -> None:
    text = "name: b\nexport: {screenshots: '${SHOTS}'}\ntasks: [{id: a, prompt: hi}]\n"
    assert load_text(tmp_path, text, environ={"SHOTS": "true"}).export.screenshots is True
    assert load_text(tmp_path, text, environ={"SHOTS": "false"}).export.screenshots is False
    assert issues_of(tmp_path, text, environ={"SHOTS": "on"}) == [
        f"2:23: export.screenshots: expected true or false, got 'on' {_HINT}"
    ]
