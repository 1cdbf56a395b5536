"""The shipped examples validate, and schemas/batchrun.schema.json matches the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.commands.schema import spec_json_schema_text
from batchrun.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [REPO / "jobs" / "prices.yaml", REPO / "jobs" / "demo.yaml"]


def test_the_schema_file_is_in_sync_with_the_models() -> None:
    committed = (REPO / "schemas" / "batchrun.schema.json").read_text()
    assert committed == spec_json_schema_text(), (
        "run: batchrun schema > schemas/batchrun.schema.json"
    )
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == committed


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_examples_validate(example: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(example)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{example}: ok (")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_editors_accept_the_examples_against_the_schema(example: Path) -> None:
    schema = json.loads((REPO / "schemas" / "batchrun.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    document = yaml.safe_load(example.read_text())
    # YAML 1.1 (PyYAML) reads `on:` as true; the spec loader does not. Editors use 1.2.
    if True in document.get("retry", {}):
        document["retry"]["on"] = document["retry"].pop(True)
    jsonschema.Draft202012Validator(schema).validate(document)


def test_the_demo_batch_suits_the_simulator_scenario() -> None:
    spec = load_spec(REPO / "jobs" / "demo.yaml", environ={})
    assert 8 <= len(spec.tasks) <= 12
    urls = [task.request_for_attempt(1).body.get("url") or "" for task in spec.tasks]
    assert sum("/flaky/" in url for url in urls) >= 2
    assert any(task.output_schema for task in spec.tasks)
    assert {task.kind for task in spec.tasks} == {"task", "workflow"}


def test_the_prices_example_expands_the_csv_and_loads_the_schema_file() -> None:
    spec = load_spec(REPO / "jobs" / "prices.yaml", environ={})
    rows = (REPO / "jobs" / "products.csv").read_text().splitlines()[1:]
    assert len(spec.tasks) == len(rows) + 1
    schema = json.loads((REPO / "schemas" / "price-extraction.schema.json").read_text())
    assert all(task.output_schema == schema for task in spec.tasks if task.kind == "task")
    assert spec.tasks[0].request_for_attempt(3).body["max_steps"] == 30
