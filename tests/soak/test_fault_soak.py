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


def test_short_soak_every_fault_and_sigkills(simulator, tmp_path: Path) -> None:
    plan = SoakPlan(tasks=80, concurrency=8, kill_window_s=8.0, seed=7)
    run = soak(simulator, tmp_path, plan, deadline_s=35.0)
    assert run.kills >= 3


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_soak_every_fault_and_sigkills(simulator, tmp_path: Path) -> None:
    plan = SoakPlan(tasks=400, concurrency=16, kill_window_s=90.0, seed=20261130)
    run = soak(simulator, tmp_path, plan, deadline_s=600.0)
    assert run.kills >= 30
