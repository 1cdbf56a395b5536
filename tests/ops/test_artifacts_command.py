"""`batchrun artifacts`: a batch's artifacts fetched after the fact, with the export's rules."""

from __future__ import annotations

from pathlib import Path

from runs_workspace import task
from workspace import Workspace

from batchrun.sim.files import RECORDING_PLACEHOLDER, SCREENSHOT_PNG

QUICK = {"rules": [{"match": {"url": "*"}, "duration": 0.1}]}


def _task_dir(workspace: Workspace, task_id: str, results: Path | None = None) -> Path:
    [run_dir] = ((results or workspace.results) / "shop").iterdir()
    return run_dir / "tasks" / task_id


def test_artifacts_never_exported_are_fetched_into_the_results_layout(
    simulator, workspace: Workspace
):
    sim = simulator(QUICK)
    spec = workspace.spec([task("checkout-1", "a"), task("checkout-2", "b", engine="skyvern-1.0")])
    workspace.apply(spec, sim)  # the spec's `export:` asks for no artifacts
    assert not (_task_dir(workspace, "checkout-1") / "artifacts").exists()

    result = workspace.run(
        "artifacts", str(spec), "--type", "screenshot_final", "--type", "recording", sim=sim
    )

    assert result.exit_code == 0, result.output
    for task_id in ("checkout-1", "checkout-2"):  # a skyvern-2.0 run and a skyvern-1.0 run
        artifacts = _task_dir(workspace, task_id) / "artifacts"
        assert sorted(p.name for p in artifacts.iterdir()) == [
            "recording-1.webm",
            "screenshot_final-1.png",
        ]
        assert (artifacts / "screenshot_final-1.png").read_bytes() == SCREENSHOT_PNG
        assert (artifacts / "recording-1.webm").read_bytes() == RECORDING_PLACEHOLDER
    assert "checkout-1: tasks/checkout-1/artifacts/screenshot_final-1.png" in result.output
    assert result.output.splitlines()[-1].startswith("4 file(s) saved")
    # The signed links point at the file origin, which never sees the API key.
    file_requests = sim.file_requests()
    assert file_requests
    assert all("x-api-key" not in r["headers"] for r in file_requests)


def test_an_expired_signed_link_is_refreshed_through_get_artifact(simulator, workspace: Workspace):
    # Links live 0.5 s, and listing a run's artifacts takes 1 s: by the time the second
    # task is listed, the first task's links have expired.
    sim = simulator(
        {
            "rules": [{"match": {"url": "*"}, "duration": 0.1}],
            "expires_after": 0.5,
            "faults": {"latency": 1.0, "endpoints": ["artifacts"]},
        }
    )
    spec = workspace.spec([task("first", "a"), task("second", "b")])
    workspace.apply(spec, sim)

    result = workspace.run("artifacts", str(spec), "--type", "screenshot_final", sim=sim)

    assert result.exit_code == 0, result.output
    for task_id in ("first", "second"):
        saved = _task_dir(workspace, task_id) / "artifacts" / "screenshot_final-1.png"
        assert saved.read_bytes() == SCREENSHOT_PNG
    assert sim.stats()["requests_by_route"].get("artifact") == 1  # GET /v1/artifacts/{id}
    paths = [r["path"] for r in sim.file_requests()]
    first_link = paths[0]
    assert paths.count(first_link) == 2  # refused once, fetched with the fresh link


def test_file_links_of_a_self_hosted_server_go_through_the_content_endpoint(
    simulator, workspace: Workspace
):
    sim = simulator({"rules": [{"match": {"url": "*"}, "duration": 0.1}], "file_urls": "file"})
    spec = workspace.spec([task("checkout-1", "a")])
    workspace.apply(spec, sim)

    result = workspace.run("artifacts", str(spec), "--type", "screenshot_final", sim=sim)

    assert result.exit_code == 0, result.output
    saved = _task_dir(workspace, "checkout-1") / "artifacts" / "screenshot_final-1.png"
    assert saved.read_bytes() == SCREENSHOT_PNG
    assert sim.stats()["requests_by_route"].get("content") == 1
    assert sim.file_requests() == []


def test_a_file_over_the_size_cap_is_not_kept_and_the_exit_is_1(simulator, workspace: Workspace):
    sim = simulator(QUICK)
    spec = workspace.spec([task("checkout-1", "a")], export={"max_file_size": 66})
    workspace.apply(spec, sim)

    result = workspace.run("artifacts", str(spec), "--type", "recording", "--type",
                           "screenshot_final", sim=sim)  # fmt: skip

    assert result.exit_code == 1
    artifacts = _task_dir(workspace, "checkout-1") / "artifacts"
    # The 64-byte recording fits; the 69-byte screenshot does not, and nothing is left of it.
    assert sorted(p.name for p in artifacts.iterdir()) == ["recording-1.webm"]
    assert "FAILED screenshot_final-1.png: not kept" in result.output
    assert result.output.rstrip().endswith(
        "batchrun: error: some artifacts could not be saved (see above)"
    )


def test_only_and_out_choose_the_tasks_and_the_results_root(simulator, workspace: Workspace):
    sim = simulator(QUICK)
    spec = workspace.spec([task("checkout-1", "a"), task("search-1", "b")])
    workspace.apply(spec, sim)
    elsewhere = workspace.root / "elsewhere"

    result = workspace.run("artifacts", str(spec), "--only", "search-*", "--out", str(elsewhere),
                           "--type", "screenshot_final", sim=sim)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (_task_dir(workspace, "search-1", elsewhere) / "artifacts").is_dir()
    assert not (_task_dir(workspace, "checkout-1", elsewhere) / "artifacts").exists()
    assert not (_task_dir(workspace, "search-1") / "artifacts").exists()


def test_without_type_the_spec_export_types_are_fetched(simulator, workspace: Workspace):
    sim = simulator(QUICK)
    spec = workspace.spec([task("checkout-1", "a")], export={"recording": True})
    workspace.apply(spec, sim)
    (_task_dir(workspace, "checkout-1") / "artifacts" / "recording-1.webm").unlink()

    result = workspace.run("artifacts", str(spec), sim=sim)

    assert result.exit_code == 0, result.output
    artifacts = _task_dir(workspace, "checkout-1") / "artifacts"
    assert sorted(p.name for p in artifacts.iterdir()) == ["recording-1.webm"]


def test_usage_errors_are_exit_2(simulator, workspace: Workspace):
    sim = simulator(QUICK)
    spec = workspace.spec([task("checkout-1", "a")])
    workspace.apply(spec, sim)

    bad_type = workspace.run("artifacts", str(spec), "--type", "screenshots", sim=sim)
    assert bad_type.exit_code == 2
    assert "'screenshots' is not one of" in bad_type.output

    no_match = workspace.run("artifacts", str(spec), "--only", "chekout-*", sim=sim)
    assert no_match.exit_code == 2
    assert "--only 'chekout-*' matches no task of batch 'shop'" in no_match.output

    no_key = workspace.run("artifacts", str(spec), "--api-url", sim.base_url)
    assert no_key.exit_code == 2
    assert "SKYVERN_API_KEY is not set" in no_key.output


def test_a_rejected_key_is_exit_3_before_anything_is_written(simulator, workspace: Workspace):
    sim = simulator(QUICK)
    spec = workspace.spec([task("checkout-1", "a")])
    workspace.apply(spec, sim)

    result = workspace.run("artifacts", str(spec), sim=sim, api_key="not-the-key")

    assert result.exit_code == 3
    assert "rejected the API key" in result.output
    assert not (_task_dir(workspace, "checkout-1") / "artifacts").exists()
