"""`batchrun schema`: the JSON Schema of spec files, for editors and CI."""

from __future__ import annotations

import json

import click

from batchrun.spec import spec_json_schema


def spec_json_schema_text() -> str:
    """The text of schemas/batchrun.schema.json (a test keeps the file in sync)."""
    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of spec files (as in schemas/batchrun.schema.json)."""
    click.echo(spec_json_schema_text(), nl=False)
