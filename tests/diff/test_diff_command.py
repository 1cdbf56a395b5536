"""`batchrun diff` on real results directories, as a nightly cron job would run it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from batchrun.cli import BatchrunGroup
from batchrun.commands.common import results_option
from batchrun.commands.diff import build_diff_command, pick_runs, results_dir_source
from batchrun.errors import UsageError

# The command over results directories (the CLI's own reads the state).
diff_command = build_diff_command(results_dir_source, extra_options=[results_option])

SPEC = """\
name: prices
results: out
tasks:
  - id: "product-{sku}"
    for_each:
      rows: [{sku: kettle}, {sku: lamp}, {sku: chair}]
    url: "https://shop.example.com/{sku}"
    prompt: "Find the price."
"""


def ok(task: str, **output: Any) -> dict[str, Any]:
    return {"task": task, "status": "succeeded", "output": output, "failure_reason": None}


def failed(task: str, reason: str) -> dict[str, Any]:
    return {"task": task, "status": "failed", "output": None, "failure_reason": reason}


class Results:
    """A spec in <tmp>/jobs and its runs under <tmp>/jobs/out/prices/<run key>/."""

    def __init__(self, root: Path) -> None:
        self.spec = root / "jobs" / "prices.yaml"
        self.spec.parent.mkdir(parents=True)
        self.spec.write_text(SPEC)
        self.runs = root / "jobs" / "out" / "prices"
        self.clock = 1_700_000_000 * 10**9

    def run(self, key: str, rows: list[dict[str, Any]], *, age: int | None = None) -> Path:
        """Write run `key`; later calls are newer unless `age` (seconds) says otherwise."""
        self.clock += 60 * 10**9
        stamp = self.clock if age is None else 1_600_000_000 * 10**9 - age * 10**9
        return write_outputs(self.runs / key, rows, stamp)


def write_outputs(run_dir: Path, rows: list[dict[str, Any]], stamp_ns: int) -> Path:
    path = run_dir / "outputs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.utime(path, ns=(stamp_ns, stamp_ns))
    return path


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Results:
    # Cron starts in $HOME, not next to the spec: the relative `results: out` must still
    # be found next to the spec.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return Results(tmp_path)


def diff(*args: str | Path) -> Result:
    return CliRunner().invoke(diff_command, [str(a) for a in args])


def batchrun(*args: str | Path) -> Result:
    """Through the CLI group's error handling, as `batchrun diff` will be once registered."""
    group = BatchrunGroup(name="batchrun")
    group.add_command(diff_command)
    return CliRunner().invoke(group, ["diff", *(str(a) for a in args)])


def test_the_latest_night_against_the_one_before(results: Results) -> None:
    results.run("2026-12-02", [ok("product-kettle", price=18.0)])
    results.run("2026-12-03", [ok("product-kettle", price=19.99), ok("product-lamp", price=5)])
    results.run(
        "2026-12-04",
        [ok("product-kettle", price=21.49), failed("product-lamp", "Checkout button not found")],
    )
    result = diff(results.spec)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "2026-12-03 → 2026-12-04: 1 changed, 1 newly failed, 0 unchanged",
        "changed product-kettle",
        "  $.price: 19.99 → 21.49",
        "newly failed product-lamp (failed: Checkout button not found)",
    ]


def test_nothing_differs_exits_0(results: Results) -> None:
    results.run("mon", [ok("product-kettle", price=1), ok("product-lamp", price=2)])
    results.run("tue", [ok("product-kettle", price=1), ok("product-lamp", price=2)])
    result = diff(results.spec)
    assert (result.exit_code, result.output) == (0, "mon → tue: no differences (2 unchanged)\n")


def test_runs_are_ordered_by_when_they_were_written_not_by_name(results: Results) -> None:
    results.run("b-newer", [ok("product-kettle", price=2)])
    results.run("a-older", [ok("product-kettle", price=1)], age=3600)
    (results.runs / "z-no-outputs").mkdir()  # a run that never wrote outputs is no run
    result = diff(results.spec)
    assert result.output.splitlines()[0].startswith("a-older → b-newer:")


def test_json_for_scripts(results: Results) -> None:
    results.run("mon", [ok("product-kettle", price=1, coupon=None), ok("product-chair")])
    results.run("tue", [ok("product-kettle", price=2), ok("product-lamp")])
    result = diff(results.spec, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "from": "mon",
        "to": "tue",
        "changed": [
            {
                "task": "product-kettle",
                "fields": [
                    {"path": "$.price", "from": 1, "to": 2},
                    {"path": "$.coupon", "from": None},
                ],
            }
        ],
        "added": [{"task": "product-lamp", "status": "succeeded", "reason": None}],
        "removed": [{"task": "product-chair", "status": "succeeded", "reason": None}],
        "newly_failed": [],
        "recovered": [],
        "unchanged": 0,
    }


def test_from_and_to_pick_any_two_runs(results: Results) -> None:
    for day, price in (("d1", 1), ("d2", 2), ("d3", 3), ("d4", 4)):
        results.run(day, [ok("product-kettle", price=price)])
    cases = [
        ((), "d3 → d4"),
        (("--from", "d1"), "d1 → d4"),
        (("--to", "d2"), "d1 → d2"),
        (("--from", "d4", "--to", "d1"), "d4 → d1"),
    ]
    for options, header in cases:
        result = diff(results.spec, *options)
        assert result.output.startswith(f"{header}: 1 changed"), (options, result.output)


def test_ignore_paths_from_the_command_line(results: Results) -> None:
    results.run("mon", [ok("product-kettle", price=1, items=[{"seen_at": "mon", "n": 1}])])
    results.run("tue", [ok("product-kettle", price=1, items=[{"seen_at": "tue", "n": 1}])])
    assert diff(results.spec).exit_code == 1
    result = diff(results.spec, "--ignore", "$.items[*].seen_at")
    assert (result.exit_code, result.output) == (0, "mon → tue: no differences (1 unchanged)\n")


def test_ignore_paths_from_the_spec_add_to_the_command_line(
    results: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    import batchrun.commands.diff as module

    class WithIgnore:
        """The loaded spec, plus the diff.ignore the spec engineer is adding."""

        def __init__(self, spec: Any) -> None:
            self._spec = spec
            self.diff_ignore = ("$.seen_at",)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._spec, name)

    load = module.load_spec
    monkeypatch.setattr(module, "load_spec", lambda path: WithIgnore(load(path)))
    results.run("mon", [ok("product-kettle", price=1, seen_at="mon", sold=3)])
    results.run("tue", [ok("product-kettle", price=1, seen_at="tue", sold=4)])
    assert diff(results.spec).output.splitlines()[1:] == [
        "changed product-kettle",
        "  $.sold: 3 → 4",
    ]
    assert diff(results.spec, "--ignore", "$.sold").exit_code == 0


def test_only_limits_the_diff_to_matching_tasks(results: Results) -> None:
    results.run("mon", [ok("product-kettle", price=1), ok("product-lamp", price=1)])
    results.run("tue", [ok("product-kettle", price=1), ok("product-lamp", price=2)])
    assert diff(results.spec, "--only", "*kettle").exit_code == 0
    assert diff(results.spec, "--only", "*lamp").exit_code == 1


def test_results_option_points_elsewhere(results: Results, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    write_outputs(moved / "prices" / "mon", [ok("product-kettle", price=1)], 10**18)
    write_outputs(moved / "prices" / "tue", [ok("product-kettle", price=2)], 2 * 10**18)
    result = diff(results.spec, "--results", moved)
    assert result.output.startswith("mon → tue: 1 changed")


ERROR_CASES = [
    # story, runs written, options, the error line
    ("no run at all", [], (), "batchrun: error: batch 'prices' has no runs with results in {out}"),
    ("only one run", ["mon"], (),
     "batchrun: error: batch 'prices' has only one run in {out} (mon): a diff needs two "
     "(run it again, or give --from and --to)"),
    ("an unknown --from names the known runs", ["mon", "tue"], ("--from", "sun"),
     "batchrun: error: --from: batch 'prices' has no run 'sun' in {out} (known runs: mon, tue)"),
    ("an unknown --to names the known runs", ["mon", "tue"], ("--to", "wed"),
     "batchrun: error: --to: batch 'prices' has no run 'wed' in {out} (known runs: mon, tue)"),
    ("--to the oldest run has nothing before it", ["mon", "tue"], ("--to", "mon"),
     "batchrun: error: run 'mon' is the oldest of batch 'prices': nothing before it to compare "
     "with (known runs: mon, tue)"),
    ("a bad --ignore path", ["mon", "tue"], ("--ignore", "seen_at"),
     "batchrun: error: --ignore: 'seen_at' is not a JSON path: it must start with $ "
     "(for example $.price, $.items[0].name or $.items[*].seen_at)"),
    ("--only matching nothing", ["mon", "tue"], ("--only", "nope*"),
     "batchrun: error: --only 'nope*' matches no task in run mon or tue"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("story", "runs", "options", "message"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_errors_exit_2_with_one_line(
    results: Results, story: str, runs: list[str], options: tuple[str, ...], message: str
) -> None:
    for key in runs:
        results.run(key, [ok("product-kettle", price=1)])
    result = batchrun(results.spec, *options)
    assert result.exit_code == 2
    assert result.stderr == message.format(out=results.runs) + "\n"
    assert result.stdout == ""


def test_a_damaged_outputs_file_is_an_error_naming_the_line(results: Results) -> None:
    results.run("mon", [ok("product-kettle", price=1)])
    path = results.run("tue", [ok("product-kettle", price=1)])
    path.write_text(path.read_text() + "{not json\n")
    result = batchrun(results.spec)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"batchrun: error: {path}:2: not a JSON object")


def test_a_run_with_a_task_twice_is_an_error(results: Results) -> None:
    results.run("mon", [ok("product-kettle", price=1)])
    results.run("tue", [ok("product-kettle", price=1), ok("product-kettle", price=2)])
    result = batchrun(results.spec)
    assert (result.exit_code, result.stderr) == (
        2,
        "batchrun: error: task 'product-kettle' appears twice in tue\n",
    )


def test_direct_invocation_raises_the_usage_error_for_the_group_to_print(
    results: Results,
) -> None:
    result = diff(results.spec)
    assert isinstance(result.exception, UsageError)


@pytest.mark.parametrize(
    ("keys", "from_key", "to_key", "expected"),
    [
        (["a", "b"], None, None, ("a", "b")),
        (["a", "b", "c"], None, None, ("b", "c")),
        (["a", "b", "c"], "a", None, ("a", "c")),
        (["a", "b", "c"], None, "b", ("a", "b")),
        (["a", "b", "c"], "c", "a", ("c", "a")),
        (["a"], "a", "a", ("a", "a")),  # asked for explicitly: a diff with itself is empty
    ],
)
def test_pick_runs(
    keys: list[str], from_key: str | None, to_key: str | None, expected: tuple[str, str]
) -> None:
    assert pick_runs("prices", keys, from_key, to_key) == expected


def test_another_source_plugs_in_with_its_own_option(results: Results) -> None:
    # How the state will provide the instances: same command line, plus the source's option.
    class MemorySource:
        def __init__(self, runs: dict[str, list[dict[str, Any]]]) -> None:
            self.runs = runs
            self.closed = False

        def run_keys(self, spec_name: str) -> list[str]:
            assert spec_name == "prices"
            return list(self.runs)

        def rows(self, spec_name: str, run_key: str) -> Iterator[dict[str, Any]]:
            yield from self.runs[run_key]

        def close(self) -> None:
            self.closed = True

    opened: list[MemorySource] = []

    def source_for(spec: Any, *, state_path: Path | None) -> MemorySource:
        assert state_path == Path("night.db")
        opened.append(MemorySource({"mon": [ok("product-lamp")], "tue": [ok("product-sofa")]}))
        return opened[0]

    state_option = click.option("--state", "state_path", type=click.Path(path_type=Path))
    command = build_diff_command(source_for, extra_options=[state_option])
    result = CliRunner().invoke(command, [str(results.spec), "--state", "night.db"])
    assert (result.exit_code, result.output) == (
        1,
        "mon → tue: 1 added, 1 removed, 0 unchanged\nadded product-sofa\nremoved product-lamp\n",
    )
    assert opened[0].closed
