"""The console script and `python -m batchrun` both start and report the version."""

import subprocess
import sys

from click.testing import CliRunner

from batchrun import __version__
from batchrun.cli import cli


def test_version_through_click() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_python_dash_m_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "batchrun", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(__version__)


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.output
