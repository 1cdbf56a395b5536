"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from batchrun.sim import RunningSimulator, start_simulator


@pytest.fixture
def simulator() -> Iterator[Callable[..., RunningSimulator]]:
    """A factory: `simulator(scenario=None, **kw)` starts a simulator on loopback.

    Keyword arguments go to `batchrun.sim.start_simulator` (api_key, seed, time_scale, ...).
    Every simulator started through it is stopped at teardown.
    """
    started: list[RunningSimulator] = []

    def start(scenario: Any = None, **kwargs: Any) -> RunningSimulator:
        sim = start_simulator(scenario, **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
