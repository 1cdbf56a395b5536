"""The two Skyvern servers the real-server suite runs against, behind one small interface.

`real`: the open-source Skyvern server started by `../shared/tools/skyvern-local.sh` (SQLite,
Debian's Chromium and the scripted LLM `fake_llm.py`), in a fresh working directory so its
database, run list and API key are new for each session. `sim`: our simulator with a
scenario that scripts the fake LLM's prompt directives, so every check that needs no real
browser also runs in `make test`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

REPO = Path(__file__).resolve().parents[2]
SKYVERN_LOCAL_SCRIPT = Path(
    os.environ.get("SKYVERN_LOCAL_SCRIPT", REPO.parent / "shared" / "tools" / "skyvern-local.sh")
)
# The venv is cached across sessions (its first install takes minutes); everything else is not.
SKYVERN_LOCAL_VENV = os.environ.get("SKYVERN_LOCAL_VENV", "/tmp/skyvern-local/venv")
SITE_TITLE = "Skyvern Local Test Page"  # <title> of the script's test page
SITE_HEADING = "Hello from the local test site"

# What `fake_llm.py` does with each prompt directive, as simulator rules (first match wins).
SLOW_RUN_S = 300.0
SIM_SCENARIO: dict[str, Any] = {
    # a self-hosted server's links are file:// paths (docs/skyvern-api.md §8.3)
    "file_urls": "file",
    "final_screenshot_lag": 1.0,  # skyvern-1.0 writes it after the run reads completed
    "rules": [
        {
            "match": {"prompt": "*FAKE_LLM:TERMINATE*"},
            "outcomes": ["terminated"],
            "duration": 1.0,
            "steps": 1,
            "failure_reason": "Fake LLM is scripted to terminate.",
        },
        {
            "match": {"prompt": "*FAKE_LLM:ERROR*"},
            "outcomes": ["failed"],
            "duration": 1.0,
            "steps": 4,
            "failure_reason": "Max retries per step (3) exceeded.",
        },
        # Tests write "SLOW=4 then ..." for a run that ends by itself, "SLOW=30" to cancel one.
        {"match": {"prompt": "*FAKE_LLM:SLOW=4 *"}, "duration": 4.0, "steps": 1},
        {"match": {"prompt": "*FAKE_LLM:SLOW=*"}, "duration": SLOW_RUN_S, "steps": 1},
        {"match": {"prompt": "*"}, "duration": 1.5, "steps": 2},
    ],
}


@dataclass(frozen=True)
class Backend:
    """A Skyvern API to run batches against, and how patient to be with it."""

    name: Literal["sim", "real"]
    base_url: str
    api_key: str
    site_url: str  # the page tasks open
    poll: dict[str, str] = field(default_factory=dict)  # the specs' `poll:` section
    run_timeout_s: float = 60.0  # how long one batch of a few runs may take, at most

    @property
    def has_browser(self) -> bool:
        return self.name == "real"

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"x-api-key": self.api_key}, timeout=30.0
        )

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.api() as client:
            response = client.get(f"/v1/runs/{run_id}")
        response.raise_for_status()
        return response.json()

    def artifacts_readable(self, owner_id: str, artifact_type: str) -> bool:
        """Whether `owner_id` lists artifacts of this type and each one's content can be read.

        A real server finishes a recording (webm, then mp4) after the run reads final; until
        then its content answers 404 "Artifact content not available".
        """
        with self.api() as client:
            listed = client.get(
                f"/v1/runs/{owner_id}/artifacts", params={"artifact_type": artifact_type}
            ).json()
            return bool(listed) and all(
                client.get(f"/v1/artifacts/{item['artifact_id']}/content").status_code == 200
                for item in listed
            )

    def listed_runs(self, search_key: str) -> list[dict[str, Any]]:
        """The server's own run list for `search_key` (title + url of task runs), all pages."""
        found: list[dict[str, Any]] = []
        with self.api() as client:
            for page in range(1, 11):
                response = client.get(
                    "/v1/runs", params={"search_key": search_key, "page": page, "page_size": 100}
                )
                response.raise_for_status()
                items = response.json()
                found += items
                if len(items) < 100:
                    break
        return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalSkyvern:
    """The real server, run by the shared script in its own directory and on free ports."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.site_port = free_port()
        self.env = {
            **os.environ,
            "SKYVERN_LOCAL_DIR": str(workdir),
            "SKYVERN_LOCAL_VENV": SKYVERN_LOCAL_VENV,
            "SKYVERN_PORT": str(free_port()),
            "FAKE_LLM_PORT": str(free_port()),
            "TEST_SITE_PORT": str(self.site_port),
        }

    def _script(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SKYVERN_LOCAL_SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> Backend:
        # A first start installs ~1.6 GB (a few minutes); later ones take ~20 s.
        done = self._script("start", timeout=1800)
        values = dict(re.findall(r"^(SKYVERN_BASE_URL|SKYVERN_API_KEY)=(\S+)$", done.stdout, re.M))
        if done.returncode != 0 or len(values) != 2:
            self.stop()
            log = self.workdir / "server.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(
                f"skyvern-local.sh start failed ({done.returncode}):\n{done.stderr}\n{tail}"
            )
        return Backend(
            name="real",
            base_url=values["SKYVERN_BASE_URL"],
            api_key=values["SKYVERN_API_KEY"],
            site_url=f"http://127.0.0.1:{self.site_port}/",
            poll={"interval": "1s", "max_interval": "2s"},
            run_timeout_s=240.0,
        )

    def stop(self) -> None:
        self._script("stop", timeout=120)
