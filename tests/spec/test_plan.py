"""`plan`: what `apply` would do for each task, from the spec and the stored state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from spec_helpers import load_text

from batchrun.cli import cli
from batchrun.plan import PlanAction, StoredTaskView, plan_tasks, summary_counts, summary_line

REPO = Path(__file__).resolve().parents[2]
SPEC = "name: x\ntasks: [{id: a, prompt: hi}, {id: b, prompt: hi}, {id: c, prompt: hi}]\n"


def view(task_id: str, content_hash: str, state: str) -> StoredTaskView:
    return StoredTaskView(
        task_id, content_hash, state, attempts=1, run_id="tsk_1", last_status=None
    )


@pytest.mark.parametrize(
    ("state", "same_hash", "action"),
    [
        ("pending", True, PlanAction.CREATE),
        ("succeeded", True, PlanAction.SKIP),
        ("succeeded", False, PlanAction.CHANGED),
        ("submitting", True, PlanAction.RESUME),
        ("running", True, PlanAction.RESUME),
        ("retry_wait", True, PlanAction.RETRY),
        ("failed", True, PlanAction.RETRY),
        ("canceled", False, PlanAction.RETRY),
    ],
)
def test_each_stored_state_maps_to_an_action(
    tmp_path: Path, state: str, same_hash: bool, action: PlanAction
) -> None:
    task = load_text(tmp_path, SPEC).tasks[0]
    stored = view("a", task.content_hash if same_hash else "0" * 64, state)
    [planned] = plan_tasks([task], {"a": stored})
    assert (planned.action, planned.stored) == (action, stored)


def test_tasks_without_a_stored_row_are_created_in_spec_order(tmp_path: Path) -> None:
    tasks = load_text(tmp_path, SPEC).tasks
    planned = plan_tasks(tasks, {"b": view("b", tasks[1].content_hash, "succeeded")})
    assert [(p.task.id, p.action) for p in planned] == [
        ("a", PlanAction.CREATE),
        ("b", PlanAction.SKIP),
        ("c", PlanAction.CREATE),
    ]
    assert summary_line(summary_counts(planned)) == (
        "2 to create, 1 unchanged, 0 changed, 0 to resume, 0 to retry"
    )


def test_an_unknown_stored_state_is_not_guessed(tmp_path: Path) -> None:
    task = load_text(tmp_path, SPEC).tasks[0]
    with pytest.raises(ValueError, match="unknown stored state 'exploded'"):
        plan_tasks([task], {"a": view("a", task.content_hash, "exploded")})


def test_plan_lists_every_expanded_task_of_the_prices_example() -> None:
    result = CliRunner().invoke(cli, ["plan", str(REPO / "jobs" / "prices.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TASK", "ACTION", "KIND", "ENGINE", "URL", "ATTEMPTS"]
    products = (REPO / "jobs" / "products.csv").read_text().splitlines()[1:]
    ids = [line.split()[0] for line in lines[1:-1]]
    assert ids == [f"price-{row.split(',')[0]}" for row in products] + ["competitor-weekly-report"]
    assert all(line.split()[1] == "create" for line in lines[1:-1])
    assert lines[-1] == f"{len(ids)} to create, 0 unchanged, 0 changed, 0 to resume, 0 to retry"


def test_plan_json_has_the_same_content(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC.replace("{id: c, prompt: hi}", "{id: c, workflow_id: wpid_9}"))
    result = CliRunner().invoke(cli, ["plan", "--json", str(spec_path)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["batch"] == "x"
    assert [(t["task"], t["action"], t["kind"], t["engine"]) for t in document["tasks"]] == [
        ("a", "create", "task", "skyvern-2.0"),
        ("b", "create", "task", "skyvern-2.0"),
        ("c", "create", "workflow", None),
    ]
    assert document["summary"] == {"create": 3, "skip": 0, "changed": 0, "resume": 0, "retry": 0}


def test_plan_of_a_broken_spec_lists_the_problems(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text("name: x\ntasks: [{id: a, promt: hi}]\n")
    result = CliRunner().invoke(cli, ["plan", str(spec_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{spec_path}:2:17: tasks[0].promt: unknown key 'promt'; did you mean 'prompt'?\n"
    )
