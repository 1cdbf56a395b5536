"""`apply` end to end against the simulator over loopback: the stories users live through."""

from __future__ import annotations

import signal
import time

from batchrun.state import open_store

from .conftest import Workspace, creates_by_task

SITE = "https://shop.example"


def _task(task_id: str, path: str, **fields: object) -> dict[str, object]:
    return {"id": task_id, "prompt": f"Find the price on {path}", "url": f"{SITE}/{path}", **fields}


def test_flaky_tasks_end_succeeded_with_their_attempts_recorded(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {
                    "match": {"url": "*/flaky/*"},
                    "outcomes": ["failed", "failed", "completed"],
                    "duration": 0.1,
                    "failure_reason": "Page did not load",
                },
                {"match": {"url": "*"}, "duration": 0.1},
            ]
        }
    )
    spec = workspace.spec(
        [_task(f"flaky-{i}", f"flaky/{i}") for i in range(3)]
        + [_task(f"steady-{i}", f"steady/{i}") for i in range(3)]
    )
    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output

    outputs = {line["task"]: line for line in workspace.outputs()}
    assert {line["status"] for line in outputs.values()} == {"succeeded"}
    assert [outputs[f"flaky-{i}"]["attempts"] for i in range(3)] == [3, 3, 3]
    assert [outputs[f"steady-{i}"]["attempts"] for i in range(3)] == [1, 1, 1]
    creates = creates_by_task(sim)
    assert sorted(creates.values()) == [1, 1, 1, 3, 3, 3]

    store = open_store(workspace.state)
    batch = store.find_batch("batch")
    assert batch is not None and batch.finished_at is not None
    attempts = store.attempts_for_task(batch.id, "flaky-0")
    assert [a.status for a in attempts] == ["failed", "failed", "completed"]
    assert len({a.run_id for a in attempts}) == 3


def test_retries_run_out_and_the_reason_is_reported(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {
                    "match": {"url": "*"},
                    "outcomes": ["failed"],
                    "duration": 0.05,
                    "failure_reason": "Proxy refused the connection",
                }
            ]
        }
    )
    spec = workspace.spec([_task("t1", "a")], retry={"attempts": 2, "backoff": {"initial": 0.01}})
    result = workspace.apply(spec, sim)
    assert result.exit_code == 1, result.output
    [line] = workspace.outputs()
    assert line["status"] == "failed" and line["attempts"] == 2
    assert "Proxy refused the connection" in line["failure_reason"]
    assert "batchrun inspect" in result.output  # the summary says how to look closer


def test_terminated_is_not_retried_by_default(simulator, workspace: Workspace):
    sim = simulator(
        {"rules": [{"match": {"url": "*"}, "outcomes": ["terminated"], "duration": 0.05}]}
    )
    result = workspace.apply(workspace.spec([_task("t1", "a")]), sim)
    assert result.exit_code == 1
    assert workspace.outputs()[0]["attempts"] == 1
    assert creates_by_task(sim) == {f"{SITE}/a | Find the price on a": 1}


def test_lost_create_responses_are_found_by_lookup_not_resubmitted(simulator, workspace: Workspace):
    # Every create request is answered by a dropped connection AFTER the run was created.
    sim = simulator(
        {
            "rules": [{"match": {"url": "*"}, "duration": 0.1}],
            "faults": {"drop": 1.0, "drop_after_create": 1.0, "endpoints": ["create"]},
        }
    )
    spec = workspace.spec(
        [
            _task("v2-a", "same/page", prompt="Read the price"),
            _task("v2-b", "same/page", prompt="Read the stock level"),
            _task("v1-a", "other/page", engine="skyvern-1.0", title="Old engine"),
        ]
    )
    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output
    assert sorted(creates_by_task(sim).values()) == [1, 1, 1]
    assert sim.stats()["runs_created"] == 3
    assert {line["status"] for line in workspace.outputs()} == {"succeeded"}


def test_a_fifth_of_requests_throttled_or_failing_still_finishes(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [{"match": {"url": "*"}, "duration": 0.1}],
            "faults": {
                "rate_limit": 0.2,
                "server_error": 0.2,
                "retry_after": 0.05,
                "retry_after_rate": 0.5,
            },
        }
    )
    spec = workspace.spec([_task(f"t{i}", f"p/{i}") for i in range(12)])
    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output
    assert len(workspace.outputs()) == 12
    assert max(creates_by_task(sim).values()) == 1
    assert sim.stats()["faults_injected"]  # the faults really happened


def test_a_second_apply_on_the_same_batch_exits_4(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 3.0}]})
    spec = workspace.spec([_task("slow", "slow")])
    first = workspace.apply_process(spec, sim, "--run", "r1")
    try:
        deadline = time.monotonic() + 30
        while sim.stats()["runs_created"] < 1:
            assert time.monotonic() < deadline, "the first apply never submitted"
            time.sleep(0.05)
        second = workspace.apply(spec, sim, "--run", "r1")
        assert second.exit_code == 4
        assert "another `batchrun apply`" in second.output
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
    assert first.returncode == 130


def test_interrupt_leaves_runs_running_and_resume_reattaches(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 1.5}]})
    spec = workspace.spec([_task(f"t{i}", f"p/{i}") for i in range(3)])
    proc = workspace.apply_process(spec, sim)
    deadline = time.monotonic() + 30
    while sim.stats()["runs_created"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "re-attached" in out

    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output
    assert sim.stats()["runs_created"] == 3  # nothing was submitted twice
    assert {line["status"] for line in workspace.outputs()} == {"succeeded"}


def test_cancel_on_interrupt_cancels_the_runs_in_flight(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 20}]})
    spec = workspace.spec([_task("t1", "p/1"), _task("t2", "p/2")])
    proc = workspace.apply_process(spec, sim, "--cancel-on-interrupt")
    deadline = time.monotonic() + 30
    while len(workspace.known_runs()) < 2:  # created, and recorded by the state
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    runs = sim.stats()["runs"]
    assert sorted(run["status"] for run in runs.values()) == ["canceled", "canceled"]
    assert workspace.status(spec)["counts"]["canceled"] == 2


def test_attempt_timeout_cancels_the_remote_run(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 30}]})
    spec = workspace.spec([_task("slow", "slow")], timeout="0.5s")
    result = workspace.apply(spec, sim)
    assert result.exit_code == 1
    [run] = sim.stats()["runs"].values()
    assert run["cancels"] == 1 and run["status"] == "canceled"
    [line] = workspace.outputs()
    assert line["status"] == "failed" and "timeout" in line["failure_reason"]


def test_budget_stops_new_runs_and_exits_5(simulator, workspace: Workspace):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec(
        [_task(f"t{i}", f"p/{i}") for i in range(5)], concurrency=1, budget={"max_runs": 2}
    )
    result = workspace.apply(spec, sim)
    assert result.exit_code == 5, result.output
    assert sim.stats()["runs_created"] == 2
    counts = workspace.status(spec)["counts"]
    assert counts["succeeded"] == 2 and counts["pending"] == 3


def test_a_changed_task_is_run_again_and_unchanged_ones_are_skipped(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    tasks = [_task("a", "p/a"), _task("b", "p/b")]
    spec = workspace.spec(tasks)
    assert workspace.apply(spec, sim).exit_code == 0
    tasks[1]["prompt"] = "Find the price and the currency"
    spec = workspace.spec(tasks)
    assert workspace.apply(spec, sim).exit_code == 0
    assert sim.stats()["runs_created"] == 3


def test_wrong_api_key_exits_3_with_a_clear_message(simulator, workspace: Workspace):
    sim = simulator()
    spec = workspace.spec([_task("a", "p/a")])
    env_key = sim.api_key
    sim.api_key = "wrong-key"  # the environment the workspace builds now carries a bad key
    try:
        result = workspace.apply(spec, sim)
    finally:
        sim.api_key = env_key
    assert result.exit_code == 3
    assert "rejected the API key" in result.output
    assert "wrong-key" not in result.output
    assert sim.stats()["runs_created"] == 0


def test_unreachable_api_exits_3(workspace: Workspace):
    class Nowhere:
        api_key = "k"
        base_url = "http://127.0.0.1:9"  # discard port: nothing listens

    result = workspace.apply(workspace.spec([_task("a", "p/a")]), Nowhere())
    assert result.exit_code == 3
    assert "cannot reach the Skyvern API" in result.output


def test_a_finished_batch_needs_no_api_but_unfinished_work_does(simulator, workspace: Workspace):
    """Cron re-running a batch that is already done exits 0 even while the API is down."""

    class Nowhere:
        api_key = "k"
        base_url = "http://127.0.0.1:9"  # discard port: nothing listens

    sim = simulator()
    spec = workspace.spec([_task("a", "p/a"), _task("b", "p/b")])
    assert workspace.apply(spec, sim).exit_code == 0
    again = workspace.apply(spec, Nowhere())
    assert again.exit_code == 0, again.output
    assert "2 succeeded" in again.output
    # one more task is work to do: now the API is needed, and its absence is an error
    spec = workspace.spec([_task("a", "p/a"), _task("b", "p/b"), _task("c", "p/c")])
    more = workspace.apply(spec, Nowhere())
    assert more.exit_code == 3
    assert "cannot reach the Skyvern API" in more.output


def test_the_tables_follow_the_spec_order_after_it_is_rearranged(simulator, workspace: Workspace):
    sim = simulator()
    tasks = [_task(name, f"p/{name}") for name in ("a", "b", "c")]
    assert workspace.apply(workspace.spec(tasks), sim).exit_code == 0
    assert [row["task"] for row in workspace.outputs()] == ["a", "b", "c"]
    assert workspace.apply(workspace.spec(tasks[::-1]), sim).exit_code == 0
    assert [row["task"] for row in workspace.outputs()] == ["c", "b", "a"]
    assert sim.stats()["runs_created"] == 3  # moving a task is not changing it


def test_an_api_outage_mid_batch_stops_with_exit_3_and_the_batch_resumes(
    simulator, workspace: Workspace
):
    rules = [{"match": {"url": "*"}, "duration": 1.0}]
    sim = simulator({"rules": rules})
    spec = workspace.spec([_task(f"t{i}", f"p/{i}") for i in range(4)])
    proc = workspace.apply_process(spec, sim, "--give-up-after", "1s")
    deadline = time.monotonic() + 30
    while sim.stats()["runs_created"] < 4:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sim.set_scenario({"rules": rules, "faults": {"drop": 1.0}})  # the API goes dark
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, (out, err)
    assert "no successful API call for 1s" in err
    assert "Traceback" not in err

    sim.set_scenario({"rules": rules})  # back again
    result = workspace.apply(spec, sim)
    assert result.exit_code == 0, result.output
    assert sim.stats()["runs_created"] == 4


def test_only_runs_the_matching_tasks_and_a_glob_matching_none_is_an_error(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.05}]})
    spec = workspace.spec([_task("eu-1", "a"), _task("eu-2", "b"), _task("us-1", "c")])
    assert workspace.apply(spec, sim, "--only", "eu-*").exit_code == 0
    assert sim.stats()["runs_created"] == 2
    counts = workspace.status(spec)["counts"]
    assert (counts["succeeded"], counts["pending"]) == (2, 1)

    result = workspace.apply(spec, sim, "--only", "asia-*")
    assert result.exit_code == 2 and "matches no task" in result.output
    assert sim.stats()["runs_created"] == 2


def test_a_request_the_api_refuses_fails_its_task_alone(simulator, workspace: Workspace):
    sim = simulator(
        {"rules": [
            {"match": {"url": "*/gated/*"},
             "refuse": {"status": 403, "detail": "Engine openai-cua is not enabled for you"}},
            {"match": {"url": "*/files/*"},
             "refuse": {"status": 422, "detail": "file_ids: unknown file f_1"}},
            {"match": {"url": "*"}, "duration": 0.05},
        ]}
    )  # fmt: skip
    spec = workspace.spec([_task("gated", "gated/a"), _task("files", "files/b"), _task("ok", "c")])
    result = workspace.apply(spec, sim)
    assert result.exit_code == 1, result.output
    rows = {row["task"]: row for row in workspace.outputs()}
    assert rows["ok"]["status"] == "succeeded"
    assert (rows["gated"]["status"], rows["gated"]["attempts"]) == ("failed", 0)
    assert (
        "403" in rows["gated"]["failure_reason"]
        and "not enabled" in rows["gated"]["failure_reason"]
    )
    assert "unknown file f_1" in rows["files"]["failure_reason"]
    assert sim.stats()["runs_created"] == 1
