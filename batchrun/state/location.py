"""Where a batch's state file lives: next to its spec file, unless told otherwise.

A spec run from cron in `$HOME` and by hand in `/srv/jobs` must use one state, or the second
run would start a new batch and pay for every run again. So the default state file is
`.batchrun/state.db` in the spec file's directory (as CSV and schema paths are relative to
the spec); `--state` / `BATCHRUN_STATE` override it, relative to the working directory like
any command-line path.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR = ".batchrun"
STATE_FILE = "state.db"


def default_state_path(spec_path: Path) -> Path:
    return spec_path.parent / STATE_DIR / STATE_FILE


def state_path_for(spec_path: Path, override: Path | str | None) -> Path:
    return Path(override) if override else default_state_path(spec_path)


def legacy_state_path(spec_path: Path) -> Path | None:
    """The working directory's `.batchrun/state.db`, where batchrun used to keep every state
    file, when it is another file than the spec's own."""
    legacy = Path(STATE_DIR) / STATE_FILE
    if not legacy.is_file():
        return None
    try:
        if os.path.samefile(legacy, default_state_path(spec_path)):
            return None
    except OSError:
        pass
    return legacy
