"""A Skyvern-compatible simulator (`batchrun sim`): the same REST API on loopback.

Runs move through Skyvern's statuses in real time as a scenario scripts them; downloaded
files come from a second origin; faults (429, 5xx, dropped connections, latency) can be
injected; `/_sim/` admin endpoints expose per-run counters for tests and benchmarks. With a
store (`start_simulator(store_path=...)`, `batchrun sim --store`) runs outlive the process, so
a resumed batch finds them again; run ids never repeat across starts.
"""

from batchrun.sim.scenario import Faults, FileSpec, Rule, Scenario, demo_scenario
from batchrun.sim.server import RunningSimulator, start_simulator

__all__ = [
    "Faults",
    "FileSpec",
    "Rule",
    "RunningSimulator",
    "Scenario",
    "demo_scenario",
    "start_simulator",
]
