"""Every file in tests/spec/broken/ is a broken spec; the `# expect:` lines at its end are
exactly what `batchrun validate` must print, one `file:line:col: message` per problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from batchrun.cli import cli

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))
_EXPECT = "# expect: "


def expected_lines(spec: Path) -> list[str]:
    lines = [
        line[len(_EXPECT) :] for line in spec.read_text().splitlines() if line.startswith(_EXPECT)
    ]
    return [line.replace("{spec}", str(spec)).replace("{dir}", str(spec.parent)) for line in lines]


def test_the_corpus_holds_at_least_thirty_broken_specs() -> None:
    assert len(CASES) >= 30
    assert all(expected_lines(case) for case in CASES)


@pytest.mark.parametrize("spec", CASES, ids=lambda path: path.stem)
def test_validate_reports_every_problem_at_its_position(spec: Path) -> None:
    env = {"BATCHRUN_TEST_SECRET": "s3cret", "BATCHRUN_TEST_UNSET_USER": None}
    result = CliRunner(env=env).invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == expected_lines(spec)
    assert result.stdout == ""
