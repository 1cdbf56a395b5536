"""`batchrun merge`: the results of a sharded batch run, as one results directory."""

from __future__ import annotations

from pathlib import Path

import click

from batchrun.commands.common import load, results_option, spec_argument
from batchrun.merge import merge_shards
from batchrun.shards import Shard


@click.command("merge")
@spec_argument
@click.option(
    "--run",
    "run_key",
    metavar="KEY",
    required=True,
    help="The run key every shard was applied with.",
)
@click.argument(
    "shard_dirs",
    metavar="SHARD_DIR...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
)
@results_option
@click.option(
    "--partial",
    is_flag=True,
    help="Merge the shards given even if some are missing (they are listed as missing).",
)
@click.option("--no-report", is_flag=True, help="Do not write report.html.")
def merge_command(
    spec_path: Path,
    run_key: str,
    shard_dirs: tuple[Path, ...],
    results_root: Path | None,
    partial: bool,
    no_report: bool,
) -> None:
    """Merge the results of the shards of a batch run (`apply --shards N`).

    Each SHARD_DIR is one shard's results directory, the one holding its outputs.jsonl
    (<results>/shard-I-of-N/<spec name>/<run key>/), copied from any machine. Writes the
    results directory one process would have written: <results>/<spec name>/<run key>/.
    Refuses shards of another spec, batch or run key, overlapping shards, and (without
    --partial) missing shards.
    """
    spec = load(spec_path)
    report = merge_shards(
        spec,
        run_key,
        list(shard_dirs),
        results_root=results_root,
        partial=partial,
        report=not no_report,
    )
    merged = ", ".join(str(i) for i in report.merged_shards)
    click.echo(
        f"{report.results_dir}: {report.tasks} task(s) from shard(s) {merged} "
        f"of {report.shard_count}"
    )
    for index in report.missing_shards:
        label = Shard(index, report.shard_count).label
        click.echo(f"batchrun: warning: shard {label} is missing", err=True)
    for line in report.unfinished:
        click.echo(f"batchrun: warning: {line}: run that shard again to finish it", err=True)
    if report.missing_tasks:
        click.echo(
            f"batchrun: warning: {len(report.missing_tasks)} task(s) of the spec are in no "
            "merged shard (listed as missing_tasks in summary.json)",
            err=True,
        )
