"""No input makes `batchrun validate` print a traceback: every file ends in exit code 2 and
`path:line:col: message` lines, whatever it holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchrun.cli import cli
from batchrun.spec import source_files

_ISSUE_LINE = re.compile(r"^.+:\d+:\d+: \S.*$")


def validate(path: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", path])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_rejected(path: str) -> list[str]:
    code, stdout, stderr = validate(path)
    lines = stderr.splitlines()
    assert code == 2
    assert stdout == ""
    assert lines and all(_ISSUE_LINE.match(line) for line in lines), stderr
    assert all(line.startswith(f"{path}:") or ":" in line for line in lines)
    assert "Traceback" not in stderr
    return lines


def _check_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "spec.yaml")
        with open(path, "wb") as handle:
            handle.write(data)
        code, _, stderr = validate(path)
        assert code == 2, stderr
        assert stderr and all(_ISSUE_LINE.match(line) for line in stderr.splitlines()), stderr


_SPEC_KEYS = st.sampled_from(
    ["name", "tasks", "defaults", "retry", "id", "prompt", "url", "engine", "for_each", "rows",
     "max_steps", "proxy_location", "timeout", "poll", "escalate", "attempt", "workflow_id",
     "parameters", "data_extraction_schema", "export", "on", "backoff", "csv", "halt",
     "max_failures", "max_failure_rate", "min_ended", "mode", "diff", "ignore", "limits",
     "max_input_size", "max_tasks", "screenshots", "start_fresh_browser", "budget"]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["skyvern_v2", "{sku}", "${HOME}", "10m", "https://example.com", "x.json"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(_SPEC_KEYS, st.text(max_size=8)), inner, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_rejected_with_positions(data: bytes) -> None:
    _check_bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text_is_rejected_with_positions(text: str) -> None:
    _check_bytes(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_SPEC_KEYS, _VALUES, max_size=6))
def test_spec_shaped_yaml_is_rejected_with_positions(document: dict[str, object]) -> None:
    _check_bytes(yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: 50 MB of zeros without writing them
    assert assert_rejected(str(path)) == [
        f"{path}:1:1: spec file is too large (50.0 MB; the limit is 10 MB)"
    ]


def test_missing_files_directories_and_bad_encodings(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "nul.yaml").write_bytes(b"name: x\ntasks: [\x00]\n")
    (tmp_path / "empty.yaml").write_bytes(b"")
    expectations = {
        "missing.yaml": "1:1: spec file not found",
        ".": "1:1: spec file is a directory, not a file",
        "latin1.yaml": "1:10: spec file is not UTF-8 text (byte 0xe9)",
        "nul.yaml": "2:9: invalid YAML: control character U+0000 is not allowed",
        "empty.yaml": "1:1: the spec is empty: it needs 'name' and 'tasks'",
    }
    for name, message in expectations.items():
        path = str(tmp_path / name)
        assert assert_rejected(path) == [f"{path}:{message}"]


def test_every_file_is_reported_and_valid_ones_say_ok(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: good\ntasks: [{id: a, prompt: hi}, {id: b, prompt: hi}]\n")
    result = CliRunner().invoke(cli, ["validate", str(good), str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stdout == f"{good}: ok (2 tasks)\n"
    assert result.stderr == f"{tmp_path / 'nope.yaml'}:1:1: spec file not found\n"


def test_garbage_through_the_real_console_script(tmp_path: Path) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    proc = subprocess.run(
        [sys.executable, "-m", "batchrun", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr == f"{path}:2:118: spec file is not UTF-8 text (byte 0x80)\n"


def test_the_size_cap_is_what_the_message_says() -> None:
    assert source_files.DEFAULT_MAX_INPUT_BYTES == 10_000_000
