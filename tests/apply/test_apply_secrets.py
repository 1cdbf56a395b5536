"""Secrets stay secret: after a full batch, no file batchrun wrote holds the API key or any
value the spec took from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import Workspace

API_KEY = "sk-live-DO-NOT-LEAK-1234567890"
PASSWORD = "hunter2-correct-horse-battery"


def _files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_no_log_state_or_result_file_holds_a_secret(simulator, workspace: Workspace):
    sim = simulator(
        {
            "rules": [
                {"match": {"url": "*/fail/*"}, "outcomes": ["failed"], "duration": 0.05},
                {
                    "match": {"url": "*"},
                    "duration": 0.05,
                    "files": [{"name": "statement.pdf", "size": 2048}],
                },
            ],
        },
        api_key=API_KEY,
    )
    spec = workspace.spec(
        [
            {
                "id": "login",
                "url": "https://bank.example/login",
                "prompt": "Log in with password ${BANK_PASSWORD} and download the statement",
                "extra_http_headers": {"Authorization": "Bearer ${BANK_PASSWORD}"},
            },
            {
                "id": "broken",
                "url": "https://bank.example/fail/x",
                "prompt": "Use ${BANK_PASSWORD}",
                "webhook_url": "https://hooks.example/${BANK_PASSWORD}",
            },
        ],
        retry={"attempts": 2, "backoff": {"initial": 0.01}},
        export={"screenshots": True},
    )
    env = {**os.environ, **workspace.env(sim), "BANK_PASSWORD": PASSWORD}
    logs = {}
    for fmt in ("plain", "json"):
        proc = subprocess.run(
            workspace.apply_argv(spec, sim, "--log-format", fmt, "--new"),
            env=env,
            cwd=workspace.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr  # `broken` fails by design
        logs[fmt] = proc.stdout + proc.stderr
    status = subprocess.run(
        [sys.executable, "-m", "batchrun", "status", str(spec), "--json"],
        env=env,
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    logs["status"] = status.stdout + status.stderr

    for name, text in logs.items():
        assert API_KEY not in text, name
        assert PASSWORD not in text, name
    written = _files_under(workspace.root)
    assert any(path.name == "state.db" for path in written)
    assert any(path.name == "report.html" for path in written)
    assert any(path.name == "run.json" for path in written)
    for path in written:
        if path.suffix == ".yaml":
            continue  # the spec itself (it holds ${BANK_PASSWORD}, not the value)
        data = path.read_bytes()
        assert API_KEY.encode() not in data, path
        assert PASSWORD.encode() not in data, path
