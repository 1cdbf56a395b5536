"""`batchrun sim` on the command line: bad ports end in one error line, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.errors import UsageError
from batchrun.sim import start_simulator


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("Error", "batchrun: error:"))]


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_a_port_outside_the_tcp_range_is_a_usage_error(port):
    result = CliRunner().invoke(cli, ["sim", "--port", port])
    assert result.exit_code == 2
    assert len(_error_lines(result.output)) == 1, result.output
    assert "--port" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception


def test_the_library_refuses_a_port_outside_the_range_with_a_usage_error():
    with pytest.raises(UsageError, match="port must be 0-65535"):
        start_simulator(port=99999)
