"""Which batch instance a command works on: --run, --new, or the latest."""

from __future__ import annotations

from pathlib import Path

from batchrun.apply import resolve_batch
from batchrun.state import open_store

from .conftest import Workspace


def test_new_twice_in_one_second_gives_two_instances_and_default_is_the_latest(
    workspace: Workspace,
) -> None:
    from batchrun.spec import load_spec

    spec = load_spec(workspace.spec([{"id": "a", "prompt": "P", "url": "https://x.example/"}]))
    store = open_store(workspace.state)
    first = resolve_batch(store, spec, run_key=None, new=True)
    second = resolve_batch(store, spec, run_key=None, new=True)
    assert first.run_key != second.run_key
    assert resolve_batch(store, spec, run_key=None, new=False).run_key == second.run_key
    named = resolve_batch(store, spec, run_key="2026-11-30", new=False)
    assert named.run_key == "2026-11-30"
    assert resolve_batch(store, spec, run_key="2026-11-30", new=False).id == named.id


def test_the_first_apply_without_run_starts_an_instance(workspace: Workspace) -> None:
    from batchrun.spec import load_spec

    spec = load_spec(workspace.spec([{"id": "a", "prompt": "P", "url": "https://x.example/"}]))
    store = open_store(Path(workspace.state))
    batch = resolve_batch(store, spec, run_key=None, new=False)
    assert store.list_batches("batch") == [batch]
