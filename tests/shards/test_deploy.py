"""The deployment examples in deploy/: Kubernetes' own schema, and the shard each launcher's
environment makes — the examples' shell run for real, with a stand-in `batchrun` that
records its command line (and runs the real `merge`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, V1Job, V1PersistentVolumeClaim
from pydantic import ValidationError

from batchrun.errors import UsageError
from batchrun.shards import Shard, resolve_shard

from .builders import load, records_for, write_instance, write_spec

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
MODELS = {"Job": V1Job, "PersistentVolumeClaim": V1PersistentVolumeClaim}

FAKE_BATCHRUN = """\
#!{python}
# Stand-in for `batchrun`: apply only records how it was called; merge is the real one.
import json, os, sys
if sys.argv[1] == "merge":
    from batchrun.cli import BatchrunGroup
    from batchrun.commands.merge import merge_command
    BatchrunGroup("batchrun", commands=[merge_command]).main(sys.argv[1:], "batchrun")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "batchrun"
    script.write_text(FAKE_BATCHRUN.format(python=sys.executable))
    script.chmod(0o755)
    return bin_dir


def run_shell(
    command: list[str], fake_bin: Path, tmp_path: Path, environ: dict[str, str], exit_code: int = 0
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    log = tmp_path / "calls.jsonl"
    log.unlink(missing_ok=True)
    env = {
        "PATH": f"{fake_bin}:{DEPLOY}:{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_EXIT": str(exit_code),
        "PYTHONPATH": os.pathsep.join(sys.path),
        **environ,
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    call = json.loads(log.read_text()) if log.exists() else None
    return done, call


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def shard_of_call(argv: list[str], environ: dict[str, str]) -> Shard | None:
    """The shard batchrun would run for this command line in this environment."""
    shards, index = option(argv, "--shards"), option(argv, "--shard-index")
    return resolve_shard(
        int(shards) if shards else None, int(index) if index is not None else None, environ
    )


# --- Kubernetes --------------------------------------------------------------------------


def manifests() -> list[Any]:
    paths = sorted(KUBERNETES.glob("*.yaml"))
    return [pytest.param(yaml.safe_load(path.read_text()), id=path.name) for path in paths]


def strict(document: dict[str, Any]) -> Any:
    """The manifest as the official client's model: unknown or misspelled fields and missing
    required ones fail (extra="forbid"), and serialising it back must give the manifest
    unchanged, so no field was dropped or written under its Python (snake_case) name."""
    model = MODELS[document["kind"]].model_validate(document)
    assert ApiClient().sanitize_for_serialization(model) == document
    return model


@pytest.mark.parametrize("document", manifests())
def test_manifest_matches_kubernetes_schema(document: dict[str, Any]) -> None:
    strict(document)


def test_schema_check_is_strict() -> None:
    job = yaml.safe_load((KUBERNETES / "job.yaml").read_text())
    job["spec"]["backoffLimitPerIndx"] = 3
    with pytest.raises(ValidationError, match="backoffLimitPerIndx"):
        strict(job)
    job = yaml.safe_load((KUBERNETES / "job.yaml").read_text())
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["volume_mounts"] = container.pop("volumeMounts")
    with pytest.raises(AssertionError):
        strict(job)
    del container["image"], container["name"]
    with pytest.raises(ValidationError, match="name"):
        strict(job)


def kube(name: str) -> V1Job:
    return strict(yaml.safe_load((KUBERNETES / name).read_text()))


def env_of(container: Any) -> dict[str, Any]:
    return {var.name: var for var in container.env or []}


def test_indexed_job_shards_as_many_as_it_completes(fake_bin: Path, tmp_path: Path) -> None:
    job = kube("job.yaml")
    spec = job.spec
    assert spec.completion_mode == "Indexed"
    assert spec.backoff_limit_per_index and spec.backoff_limit_per_index >= 1
    assert spec.pod_replacement_policy == "Failed"  # one writer per state file
    [container] = spec.template.spec.containers
    count = spec.completions
    assert spec.parallelism == count
    for index in range(count):
        environ = {"JOB_COMPLETION_INDEX": str(index), "RUN_KEY": "k"}
        done, call = run_shell([*container.command, *container.args], fake_bin, tmp_path, environ)
        assert done.returncode == 0, done.stderr
        assert call is not None and option(call["argv"], "--shards") == str(count)
        assert option(call["argv"], "--shard-index") is None  # from JOB_COMPLETION_INDEX
        assert shard_of_call(call["argv"], environ) == Shard(index, count)
    # The volume's per-index directory follows the same index as JOB_COMPLETION_INDEX.
    index_env = env_of(container)["SHARD_INDEX"].value_from.field_ref.field_path
    assert index_env == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    [mount] = [m for m in container.volume_mounts if m.name == "shards"]
    assert mount.sub_path_expr == "shard-$(SHARD_INDEX)"
    assert option(call["argv"], "--state").startswith(mount.mount_path + "/")
    assert option(call["argv"], "--results").startswith(mount.mount_path + "/")


@pytest.mark.parametrize(("exit_code", "pod_exit"), [(0, 0), (1, 0), (3, 3), (130, 130)])
def test_indexed_job_exit_codes(
    fake_bin: Path, tmp_path: Path, exit_code: int, pod_exit: int
) -> None:
    # Failed tasks (1) finish the shard; the rest fail the pod, and FailIndex stops 2 and 5.
    [container] = kube("job.yaml").spec.template.spec.containers
    environ = {"JOB_COMPLETION_INDEX": "0", "RUN_KEY": "k"}
    command = [*container.command, *container.args]
    assert run_shell(command, fake_bin, tmp_path, environ, exit_code)[0].returncode == pod_exit
    rules = kube("job.yaml").spec.pod_failure_policy.rules
    assert [r.on_exit_codes.values for r in rules if r.action == "FailIndex"] == [[2, 5]]


def test_kubernetes_resume_and_merge_use_the_same_run_and_volume(
    fake_bin: Path, tmp_path: Path
) -> None:
    jobs = {name: kube(name) for name in ("job.yaml", "resume-shard-job.yaml", "merge-job.yaml")}
    containers = {name: job.spec.template.spec.containers[0] for name, job in jobs.items()}
    run_keys = {env_of(c)["RUN_KEY"].value for c in containers.values()}
    assert len(run_keys) == 1
    claims = {
        v.persistent_volume_claim.claim_name
        for job in jobs.values()
        for v in job.spec.template.spec.volumes
        if v.persistent_volume_claim
    }
    assert claims == {"batchrun-shards"}
    resume = containers["resume-shard-job.yaml"]
    environ = {"RUN_KEY": "k", "SHARD_INDEX": env_of(resume)["SHARD_INDEX"].value}
    done, call = run_shell([*resume.command, *resume.args], fake_bin, tmp_path, environ)
    assert done.returncode == 0, done.stderr
    assert shard_of_call(call["argv"], environ) == Shard(5, jobs["job.yaml"].spec.completions)
    [mount] = [m for m in resume.volume_mounts if m.name == "shards"]
    assert mount.sub_path_expr == "shard-$(SHARD_INDEX)"


# --- run-shard.sh on Cloud Run, AWS Batch, SLURM -----------------------------------------


def cloud_run_count() -> tuple[int, int]:
    job = yaml.safe_load((DEPLOY / "cloud-run" / "job.yaml").read_text())
    spec = job["spec"]["template"]["spec"]
    [container] = spec["template"]["spec"]["containers"]
    shards = {e["name"]: e.get("value") for e in container["env"]}["SHARDS"]
    assert container["command"] == ["run-shard.sh"]
    return spec["taskCount"], int(shards)


def aws_count() -> tuple[int, int]:
    definition = json.loads((DEPLOY / "aws-batch" / "job-definition.json").read_text())
    submit = json.loads((DEPLOY / "aws-batch" / "submit-shards.json").read_text())
    environment = {e["name"]: e["value"] for e in definition["containerProperties"]["environment"]}
    assert definition["containerProperties"]["command"][0] == "run-shard.sh"
    assert submit["jobDefinition"] == definition["jobDefinitionName"]
    exits = {
        e.get("onExitCode"): e["action"] for e in definition["retryStrategy"]["evaluateOnExit"]
    }
    assert exits["2"] == exits["5"] == "EXIT"
    return submit["arrayProperties"]["size"], int(environment["SHARDS"])


def slurm_count() -> tuple[int, int]:
    script = (DEPLOY / "slurm" / "shards.sbatch").read_text()
    first, last = map(int, re.search(r"#SBATCH --array=(\d+)-(\d+)\n", script).groups())
    assert first == 0  # SLURM_ARRAY_TASK_ID is then the index, also for a lone rerun
    shards = int(re.search(r"^export SHARDS=(\d+)$", script, re.M).group(1))
    return last - first + 1, shards


def test_each_launcher_starts_as_many_tasks_as_there_are_shards() -> None:
    for launched, shards in (cloud_run_count(), aws_count(), slurm_count()):
        assert launched == shards


def launcher_env(launcher: str, index: int, count: int) -> dict[str, str]:
    """Exactly what each launcher sets for the array task `index` of `count`."""
    if launcher == "cloud-run":
        return {"CLOUD_RUN_TASK_INDEX": str(index), "CLOUD_RUN_TASK_COUNT": str(count)}
    if launcher == "aws-batch":
        return {"AWS_BATCH_JOB_ARRAY_INDEX": str(index)}
    return {
        "SLURM_ARRAY_TASK_ID": str(index),
        "SLURM_ARRAY_TASK_MIN": "0",
        "SLURM_ARRAY_TASK_MAX": str(count - 1),
        "SLURM_ARRAY_TASK_STEP": "1",
        "SLURM_ARRAY_TASK_COUNT": str(count),
    }


def launch_command(launcher: str, count: int) -> tuple[list[str], dict[str, str]]:
    if launcher == "slurm":
        return ["bash", str(DEPLOY / "slurm" / "shards.sbatch")], {"SPEC": "/jobs/prices.yaml"}
    return ["sh", str(DEPLOY / "run-shard.sh"), "/jobs/prices.yaml"], {"SHARDS": str(count)}


COUNTS = {"cloud-run": cloud_run_count, "aws-batch": aws_count, "slurm": slurm_count}


@pytest.mark.parametrize("launcher", list(COUNTS))
def test_run_shard_runs_the_launchers_shard_in_its_own_directory(
    launcher: str, fake_bin: Path, tmp_path: Path
) -> None:
    count = COUNTS[launcher]()[1]
    command, extra = launch_command(launcher, count)
    root = tmp_path / "shards"
    for index in (0, count // 2, count - 1):
        environ = {**launcher_env(launcher, index, count), "SHARD_ROOT": str(root)}
        environ |= {"RUN_KEY": "2026-12-04", **extra}
        done, call = run_shell(command, fake_bin, tmp_path, environ)
        assert done.returncode == 0, done.stderr
        argv = call["argv"]
        assert argv[:2] == ["apply", "/jobs/prices.yaml"]
        assert shard_of_call(argv, environ) == Shard(index, count)
        # batchrun alone, from the launcher's variables, agrees with the script.
        assert resolve_shard(count, None, launcher_env(launcher, index, count)) == Shard(
            index, count
        )
        shard_dir = root / f"shard-{index}"
        assert Path(call["cwd"]) == shard_dir
        assert option(argv, "--state") == str(shard_dir / "state.db")
        assert option(argv, "--results") == str(shard_dir / "results")
        assert option(argv, "--run") == "2026-12-04"


@pytest.mark.parametrize("launcher", list(COUNTS))
def test_rerunning_one_shard_alone(launcher: str, fake_bin: Path, tmp_path: Path) -> None:
    # Cloud Run: execute --tasks 1 --update-env-vars SHARD_INDEX=5; AWS Batch: a plain job
    # with SHARD_INDEX=5; SLURM: sbatch --array=5 (MIN becomes 5, so the script passes the
    # id itself: batchrun alone would refuse that environment rather than run shard 0).
    count = COUNTS[launcher]()[1]
    command, extra = launch_command(launcher, count)
    alone = {
        "cloud-run": {"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "1", "SHARD_INDEX": "5"},
        "aws-batch": {"SHARD_INDEX": "5"},
        "slurm": {
            "SLURM_ARRAY_TASK_ID": "5",
            "SLURM_ARRAY_TASK_MIN": "5",
            "SLURM_ARRAY_TASK_MAX": "5",
            "SLURM_ARRAY_TASK_COUNT": "1",
        },
    }[launcher]
    environ = {**alone, "SHARD_ROOT": str(tmp_path / "shards"), "RUN_KEY": "k", **extra}
    done, call = run_shell(command, fake_bin, tmp_path, environ)
    assert done.returncode == 0, done.stderr
    assert shard_of_call(call["argv"], environ) == Shard(5, count)
    assert Path(call["cwd"]) == tmp_path / "shards" / "shard-5"
    if launcher != "aws-batch":
        launcher_only = {k: v for k, v in alone.items() if k != "SHARD_INDEX"}
        with pytest.raises(UsageError, match="make them equal"):
            resolve_shard(count, None, launcher_only)


@pytest.mark.parametrize(("exit_code", "task_exit"), [(0, 0), (1, 0), (2, 2), (3, 3), (130, 130)])
def test_run_shard_exit_codes(
    fake_bin: Path, tmp_path: Path, exit_code: int, task_exit: int
) -> None:
    environ = {"AWS_BATCH_JOB_ARRAY_INDEX": "1", "SHARD_ROOT": str(tmp_path), "RUN_KEY": "k"}
    command, extra = launch_command("aws-batch", 8)
    done, _ = run_shell(command, fake_bin, tmp_path, {**environ, **extra}, exit_code)
    assert done.returncode == task_exit


def test_run_shard_without_an_index_refuses(fake_bin: Path, tmp_path: Path) -> None:
    command, extra = launch_command("aws-batch", 8)
    environ = {"SHARD_ROOT": str(tmp_path), "RUN_KEY": "k", **extra}
    done, call = run_shell(command, fake_bin, tmp_path, environ)
    assert done.returncode == 2 and call is None
    assert "SHARD_INDEX" in done.stderr


def test_merge_shards_finds_every_shard_run_shard_wrote(fake_bin: Path, tmp_path: Path) -> None:
    # The layout run-shard.sh leaves (batchrun puts a shard's results in shard-I-of-N/ under
    # --results), merged by the real `batchrun merge` through merge-shards.sh.
    spec_path = write_spec(tmp_path, 40)
    spec = load(spec_path)
    root = tmp_path / "shards"
    count = 4
    for index in range(count):
        shard = Shard(index, count)
        results = root / f"shard-{index}" / "results" / f"shard-{shard.label}"
        mine = [r for r in records_for(spec) if shard.contains(r.task_id)]
        write_instance(results, spec, "2026-12-04", mine, shard)
    environ = {"SHARD_ROOT": str(root), "RUN_KEY": "2026-12-04"}
    command = ["sh", str(DEPLOY / "merge-shards.sh"), str(spec_path), "--no-report"]
    done, _ = run_shell(command, fake_bin, tmp_path, environ)
    assert done.returncode == 0, done.stderr
    merged = root / "merged" / "prices" / "2026-12-04"
    assert "40 task(s) from shard(s) 0, 1, 2, 3 of 4" in done.stdout
    rows = [json.loads(line)["task"] for line in (merged / "outputs.jsonl").open()]
    assert rows == [task.id for task in spec.tasks]


def test_the_slurm_merge_and_the_aws_merge_use_merge_shards() -> None:
    assert "exec merge-shards.sh" in (DEPLOY / "slurm" / "merge.sbatch").read_text()
    submit = json.loads((DEPLOY / "aws-batch" / "submit-merge.json").read_text())
    assert submit["containerOverrides"]["command"][0] == "merge-shards.sh"
    assert '\\"merge-shards.sh\\"' in (DEPLOY / "aws-batch" / "submit.sh").read_text()
