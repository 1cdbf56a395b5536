"""The command examples of the README and docs/ that run offline are run, so their output
cannot drift from what batchrun really prints."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Commands that read only local files: validate and plan (of a spec that has no state yet).
OFFLINE = ("validate", "plan")
CONSOLE_BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)


def console_examples() -> list[tuple[str, str, str]]:
    """(doc, command, output shown) for each `$ batchrun validate|plan` of a console block
    whose files are in the repository."""
    found = []
    for doc in DOCS:
        for block in CONSOLE_BLOCK.findall(doc.read_text(encoding="utf-8")):
            command, shown = None, []
            for line in [*block.splitlines(), "$ "]:
                if line.startswith("$ "):
                    if command is not None:
                        found.append((doc.name, command, "\n".join(shown)))
                    command, shown = line[2:], []
                    argv = shlex.split(command) if command else []
                    runnable = argv[:1] == ["batchrun"] and argv[1:2] and argv[1] in OFFLINE
                    files = [a for a in argv[2:] if not a.startswith("-")]
                    if not runnable or not all((ROOT / f).is_file() for f in files):
                        command = None
                else:
                    shown.append(line)
    return found


EXAMPLES = console_examples()


def test_the_readme_and_spec_md_examples_are_found() -> None:
    # Without this the test below could pass by finding nothing.
    seen = {(doc, command) for doc, command, _ in EXAMPLES}
    for doc in ("README.md", "spec.md"):
        assert (doc, "batchrun validate jobs/prices.yaml") in seen
        assert (doc, "batchrun plan jobs/prices.yaml") in seen


@pytest.mark.parametrize(("doc", "command", "shown"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_console_example_output_is_the_real_output(
    tmp_path: Path, doc: str, command: str, shown: str
) -> None:
    # A copy of the files the examples use: plan must see no state from earlier runs.
    for folder in ("jobs", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns(".*"))
    argv = shlex.split(command)
    proc = subprocess.run(
        [sys.executable, "-m", "batchrun", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout + proc.stderr).rstrip("\n") == shown.rstrip("\n"), (
        f"{doc}: the output shown for `{command}` is not what batchrun prints; "
        "paste the real output into the doc"
    )


def test_spec_md_retry_example_validates_without_warnings(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    section = text[text.index("## `retry`") :]
    [example] = re.findall(r"```yaml\n(retry:.*?)```", section, re.DOTALL)[:1]
    assert "escalate:" in example, "the example shows escalation"
    # The example's own text (PyYAML would read its `on:` as a YAML 1.1 boolean).
    path = tmp_path / "example.yaml"
    path.write_text(
        "name: example\n"
        + example
        + "tasks:\n  - id: a\n    url: https://shop.example/\n    prompt: Read the price\n"
        "    data_extraction_schema:\n      type: object\n"
        "      properties: {price: {type: string}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "batchrun", "validate", "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
