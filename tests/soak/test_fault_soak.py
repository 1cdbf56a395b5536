"""Fault soak: every fault at once, `apply` SIGKILLed at random moments until done.

The short version runs in `make test`; the full one (several hundred tasks, a long kill
window) is marked slow and runs in `make soak`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from soak_batch import SoakPlan, SoakRun, scenario


def soak(simulator, tmp_path: Path, plan: SoakPlan, deadline_s: float) -> SoakRun:
    sim = simulator(scenario(plan.seed), seed=plan.seed)
    run = SoakRun(tmp_path, sim, plan)
    assert run.run_until_done(deadline_s=deadline_s) == 0, run.last_output
    run.check()
    stats = sim.stats()
    # the faults did happen: this is a soak, not a quiet run
    assert {"rate_limit", "drop", "drop_after_create"} <= set(stats["faults_injected"])
    assert any(kind.startswith("server_error") for kind in stats["faults_injected"])
    return run


@pytest.mark.timeout(300)
def test_short_soak_every_fault_and_sigkills(simulator, tmp_path: Path) -> None:
    plan = SoakPlan(tasks=60, concurrency=8, kills=5, seed=7)
    run = soak(simulator, tmp_path, plan, deadline_s=240.0)
    assert run.kills >= 3  # fewer only if the batch finished between kills


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_soak_every_fault_and_sigkills(simulator, tmp_path: Path) -> None:
    plan = SoakPlan(tasks=400, concurrency=16, kills=40, seed=20261130)
    run = soak(simulator, tmp_path, plan, deadline_s=600.0)
    assert run.kills >= 30
