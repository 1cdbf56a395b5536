"""Scenario files: the documented shape loads, and every mistake is a UsageError naming the key."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from batchrun.cli import cli
from batchrun.errors import UsageError
from batchrun.sim import Scenario
from batchrun.sim.scenario import demo_scenario

ISSUE_EXAMPLE = """
rules:
  - match: {url: "*/flaky/*"}        # glob on url, title or prompt
    outcomes: [failed, completed]    # per run of the same url+prompt; the last repeats
    duration: 0.6                    # seconds from created to terminal
    steps: 4
    failure_reason: "Page did not load"
    files:
      - {name: "invoice.pdf", size: 20000}
  - match: {title: "*"}
    outcomes: [completed]
    duration: 0.2
faults:
  rate_limit: 0.05       # share of requests answered 429
  server_error: 0.02     # share answered 500/502/503
  drop: 0.01             # share of connections dropped (the POST's may be after creation)
  latency: 0.01          # seconds added to every response
"""


def test_the_issue_example_loads(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(ISSUE_EXAMPLE)
    scenario = Scenario.from_yaml(path)
    flaky, catch_all = scenario.rules
    assert flaky.outcomes == ("failed", "completed") and flaky.files[0].size == 20000
    assert scenario.rule_for({"url": "https://a.test/flaky/1", "title": ""}) is flaky
    assert scenario.rule_for({"url": "https://a.test/ok", "title": ""}) is catch_all
    assert [flaky.outcome_for(i) for i in range(4)] == [
        "failed",
        "completed",
        "completed",
        "completed",
    ]
    assert scenario.faults.rate_limit == 0.05 and scenario.faults.latency == 0.01


def test_the_built_in_demo_scenario_loads():
    demo = demo_scenario()
    assert demo.rule_for({"url": "https://x.test/flaky/2"}).outcomes == ("failed", "completed")
    assert any(rule.files for rule in demo.rules)
    assert any("terminated" in rule.outcomes for rule in demo.rules)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"rules": [{"match": {"host": "*"}}]}, "rules[0].match.host"),
        ({"rules": [{"outcomes": ["done"]}]}, "rules[0].outcomes"),
        ({"rules": [{"duration": -1}]}, "rules[0].duration"),
        ({"rules": [{"files": [{"size": 3}]}]}, "rules[0].files[0].name"),
        ({"faults": {"rate_limit": 1.5}}, "faults.rate_limit"),
        ({"faults": {"endpoints": ["everything"]}}, "faults.endpoints"),
        ({"file_urls": "s3"}, "file_urls"),
        ({"rulez": []}, "rulez"),
        ([], "top level"),
    ],
)
def test_mistakes_name_the_key(data, where):
    with pytest.raises(UsageError, match=rf"scenario: {re.escape(where)}"):
        Scenario.from_dict(data)


def test_bad_yaml_and_missing_files_are_usage_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        Scenario.from_yaml(broken)
    with pytest.raises(UsageError, match="cannot read scenario"):
        Scenario.from_yaml(tmp_path / "absent.yaml")


def test_batchrun_sim_with_a_bad_scenario_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults: {drop: 2}\n")
    result = CliRunner().invoke(cli, ["sim", "--scenario", str(bad)])
    assert result.exit_code == 2
    assert "faults.drop" in result.output and "Traceback" not in result.output
