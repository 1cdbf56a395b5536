"""The "look closer" command apply prints works when pasted exactly as printed."""

from __future__ import annotations

import shlex

import pytest
import yaml

from .conftest import Cli

FAILING = {"rules": [{"match": {"url": "*"}, "outcomes": ["failed"], "duration": 0.05}]}


def _hints(stdout: str) -> list[str]:
    marker = "look closer: "
    return [line.split(marker, 1)[1] for line in stdout.splitlines() if marker in line]


@pytest.mark.parametrize("state", [None, "my state/night.db"])
def test_look_closer_after_apply_sim_runs_offline_as_printed(here: Cli, state: str | None) -> None:
    here.write("fail.yaml", yaml.safe_dump(FAILING))
    here.spec(
        [{"id": "shop-1", "url": "https://shop.example/", "prompt": "Read the price"}],
        results="out",
    )
    state_args = ["--state", state] if state else []
    applied = here.process(
        "apply", "batch.yaml", "--sim", "--scenario", "fail.yaml", "--log-format", "plain",
        "--no-report", *state_args,
    )  # fmt: skip
    assert applied.returncode == 1, applied.stdout + applied.stderr
    [hint] = _hints(applied.stdout)
    argv = shlex.split(hint)
    assert argv[:2] == ["batchrun", "inspect"]
    if state:
        assert argv[argv.index("--state") + 1] == state  # the same state file, quoted
    assert "--offline" in argv  # the simulator is gone once apply --sim ends

    # Pasted in the same directory, with no API key anywhere: it still answers.
    pasted = here.process(*argv[1:], unset=("SKYVERN_API_KEY", "SKYVERN_BASE_URL"))
    assert pasted.returncode == 0, pasted.stderr
    assert "Traceback" not in pasted.stderr
    assert "task shop-1 of batch batch" in pasted.stdout
