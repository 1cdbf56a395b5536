"""`batchrun sim`: serve the Skyvern-compatible simulator until interrupted."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="API port; 0 picks a free one.",
)
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Scenario YAML (rules and faults); the built-in demo scenario if omitted.",
)
@click.option("--api-key", default="sim-key", show_default=True, help="The key clients must send.")
@click.option("--seed", default=0, show_default=True, help="Seed for outputs and faults.")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep runs in this SQLite file and load those already there, so a restart resumes.",
)
def sim_command(
    host: str,
    port: int,
    scenario_path: Path | None,
    api_key: str,
    seed: int,
    store_path: Path | None,
) -> None:
    """Serve a Skyvern-compatible API on loopback (no account needed) until Ctrl-C."""
    from batchrun.sim.scenario import Scenario, demo_scenario  # a web server: loaded on use
    from batchrun.sim.server import start_simulator

    scenario = Scenario.from_yaml(scenario_path) if scenario_path else demo_scenario()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    simulator = start_simulator(
        scenario, api_key=api_key, host=host, port=port, seed=seed, store_path=store_path
    )
    with simulator:
        click.echo(f"SKYVERN_BASE_URL={simulator.base_url}")
        click.echo(f"SKYVERN_API_KEY={simulator.api_key}")
        click.echo(f"# files are served from {simulator.files_base_url}; Ctrl-C stops", err=True)
        while not stop.wait(0.5):
            pass
