"""Fixtures for end-to-end `apply` stories (the workspace itself is tests/workspace.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from workspace import Workspace, creates_by_task

__all__ = ["Workspace", "creates_by_task", "workspace"]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
