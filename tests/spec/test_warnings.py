"""Specs that load but will not do what they seem to: `load_spec` returns warnings at the
value concerned; `validate` prints them, and fails on them only with --strict."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from spec_helpers import load_text, write_spec

from batchrun.cli import cli
from batchrun.spec import load_spec

_SCHEMA = "{type: object, properties: {price: {type: number}}}"


def warnings_of(directory: Path, text: str) -> list[str]:
    spec = load_text(directory, text)
    return [f"{w.line}:{w.col}: {w.message}" for w in spec.warnings]


def test_skyvern_1_with_a_url_and_a_schema(tmp_path: Path) -> None:
    text = f"""\
    name: w
    tasks:
      - {{id: a, prompt: hi, url: "https://a.example", engine: skyvern-1.0,
          data_extraction_schema: {_SCHEMA}}}
      - {{id: b, prompt: hi, engine: skyvern-1.0, data_extraction_schema: {_SCHEMA}}}
      - {{id: c, prompt: hi, url: "https://a.example", engine: skyvern-1.0}}
      - {{id: d, prompt: hi, url: "https://a.example", data_extraction_schema: {_SCHEMA}}}
    """
    assert warnings_of(tmp_path, text) == [
        "3:59: tasks[0].engine: skyvern-1.0 with a url returns no output, so the "
        "data_extraction_schema is never filled: every such attempt would end invalid_output "
        "or come back empty"
    ]


def test_an_escalation_that_switches_to_skyvern_1(tmp_path: Path) -> None:
    text = f"""\
    name: w
    retry:
      attempts: 3
      escalate:
        - {{attempt: 2, max_steps: 20}}
        - {{attempt: 3, engine: skyvern_v1}}
    tasks:
      - {{id: a, prompt: hi, url: "https://a.example", data_extraction_schema: {_SCHEMA}}}
    """
    [warning] = warnings_of(tmp_path, text)
    assert warning.startswith("6:28: retry.escalate[1].engine: attempt 3: skyvern-1.0 with a url")


def test_the_engine_from_defaults_is_warned_once_at_the_defaults(tmp_path: Path) -> None:
    text = f"""\
    name: w
    defaults: {{engine: skyvern-1.0, data_extraction_schema: {_SCHEMA}}}
    tasks:
      - {{id: "p-{{n}}", prompt: hi, url: "https://a.example/{{n}}",
          for_each: {{rows: [{{n: 1}}, {{n: 2}}, {{n: 3}}]}}}}
    """
    [warning] = warnings_of(tmp_path, text)
    assert warning.startswith("2:20: defaults.engine: skyvern-1.0 with a url returns no output")


def test_an_object_schema_without_properties(tmp_path: Path) -> None:
    (tmp_path / "loose.json").write_text('{"type": "object", "required": []}')
    text = f"""\
    name: w
    tasks:
      - {{id: a, prompt: hi, data_extraction_schema: {{type: object}}}}
      - {{id: b, prompt: hi, data_extraction_schema: loose.json}}
      - {{id: c, prompt: hi, data_extraction_schema: {_SCHEMA}}}
      - id: d
        prompt: hi
        data_extraction_schema: {{type: object, additionalProperties: {{type: number}}}}
      - id: e
        prompt: hi
        data_extraction_schema: {_SCHEMA}
        retry: {{escalate: [{{attempt: 2, data_extraction_schema: {{type: [object, "null"]}}}}]}}
    """
    message = (
        "an object with no 'properties': the agent is not told which fields to extract, "
        "and any object passes the output check"
    )
    assert warnings_of(tmp_path, text) == [
        f"3:49: tasks[0].data_extraction_schema: {message}",
        f"4:49: tasks[1].data_extraction_schema: {message}",
        f"12:61: tasks[4].retry.escalate[0].data_extraction_schema: {message}",
    ]


def test_a_timeout_shorter_than_the_poll_interval(tmp_path: Path) -> None:
    text = """\
    name: w
    poll: {interval: 10s, max_interval: 30s}
    tasks:
      - {id: a, prompt: hi, timeout: 5s}
      - {id: b, prompt: hi, timeout: 10s}
    """
    assert warnings_of(tmp_path, text) == [
        "4:34: tasks[0].timeout: 5s is shorter than poll.interval (10s): the run's status is "
        "first read only after its timeout has passed"
    ]


def test_invalid_output_retried_without_a_schema(tmp_path: Path) -> None:
    text = f"""\
    name: w
    retry: {{on: [failed, invalid_output]}}
    tasks:
      - {{id: a, prompt: hi}}
      - {{id: b, prompt: hi}}
      - {{id: c, prompt: hi, data_extraction_schema: {_SCHEMA}}}
      - {{id: w, workflow_id: wpid_1}}
    """
    assert warnings_of(tmp_path, text) == [
        "2:22: retry.on[1]: invalid_output is retried but the task has no "
        "data_extraction_schema: nothing is checked, only an empty output counts as invalid"
    ]


def test_a_runs_budget_below_the_task_count(tmp_path: Path) -> None:
    tasks = "tasks: [{id: a, prompt: hi}, {id: b, prompt: hi}, {id: c, prompt: hi}]\n"
    assert warnings_of(tmp_path, "name: w\nbudget: {max_runs: 2}\n" + tasks) == [
        "2:20: budget.max_runs is 2 but the batch has 3 tasks: at least 1 task will never run"
    ]
    assert warnings_of(tmp_path, "name: w\nbudget: {max_runs: 3}\n" + tasks) == []


def test_validate_prints_warnings_and_fails_only_when_strict(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        "name: w\nbudget: {max_runs: 1}\ntasks: [{id: a, prompt: hi}, {id: b, prompt: hi}]\n",
    )
    warning = (
        f"{path}:2:20: warning: budget.max_runs is 1 but the batch has 2 tasks: "
        "at least 1 task will never run\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: ok (2 tasks, 1 warning)\n",
        warning,
    )
    strict = CliRunner().invoke(cli, ["validate", "--strict", str(path)])
    assert (strict.exit_code, strict.stdout, strict.stderr) == (2, "", warning)


def test_a_clean_spec_has_no_warnings_even_when_strict(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "name: w\ntasks: [{id: a, prompt: hi}]\n")
    assert load_spec(path, environ={}).warnings == []
    result = CliRunner().invoke(cli, ["validate", "--strict", str(path)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"{path}: ok (1 task)\n", "")
