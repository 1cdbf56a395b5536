"""The content hash: what `plan` compares to tell "unchanged" from "changed"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from spec_helpers import load_text

BASE = """\
name: hashes
retry: {attempts: 3}
tasks:
  - id: a
    prompt: Find the price
    url: https://shop.example.com/a
    max_steps: 10
    extra_http_headers: {A: "1", B: "2"}
"""


def hash_of(tmp_path: Path, text: str) -> str:
    return load_text(tmp_path, text).tasks[0].content_hash


def test_the_hash_ignores_key_order_and_spellings(tmp_path: Path) -> None:
    reordered = """\
    retry: {attempts: 3}
    tasks:
      - extra_http_headers: {B: "2", A: "1"}
        max_steps: 10
        url: https://shop.example.com/a
        engine: skyvern_v2
        prompt: Find the price
        id: a
    name: hashes
    """
    assert hash_of(tmp_path, BASE) == hash_of(tmp_path, reordered)


def test_the_hash_is_the_same_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE)
    code = (
        "import sys; from batchrun.spec import load_spec; "
        "print(load_spec(sys.argv[1], environ={}).tasks[0].content_hash)"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert other.stdout.strip() == hash_of(tmp_path, BASE)


def test_the_hash_changes_with_the_request(tmp_path: Path) -> None:
    base = hash_of(tmp_path, BASE)
    for old, new in [
        ("Find the price", "Find the prices"),
        ("max_steps: 10", "max_steps: 11"),
        ('B: "2"', 'B: "3"'),
        ("    max_steps: 10\n", "    max_steps: 10\n    user_agent: batch\n"),
        ("    max_steps: 10\n", "    max_steps: 10\n    engine: skyvern-1.0\n"),
    ]:
        assert old in BASE
        assert hash_of(tmp_path, BASE.replace(old, new)) != base, new


def test_the_retry_policy_timeout_and_escalations_do_not_change_it(tmp_path: Path) -> None:
    base = hash_of(tmp_path, BASE)
    tuned = BASE.replace(
        "retry: {attempts: 3}",
        "retry: {attempts: 5, on: [failed, terminated], escalate: [{attempt: 2, max_steps: 40}]}\n"
        "timeout: 5m",
    )
    assert hash_of(tmp_path, tuned) == base


def test_the_hash_covers_the_loaded_schema_file(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object", "properties": {"price": {"type": "number"}}}')
    text = BASE.replace("max_steps: 10", "max_steps: 10\n    data_extraction_schema: schema.json")
    before = hash_of(tmp_path, text)
    schema.write_text('{"type": "object", "properties": {"price": {"type": "string"}}}')
    assert hash_of(tmp_path, text) != before
    assert load_text(tmp_path, text).tasks[0].output_schema == {
        "type": "object",
        "properties": {"price": {"type": "string"}},
    }
