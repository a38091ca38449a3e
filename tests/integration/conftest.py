"""Helpers for end-to-end runs of the ``campaign`` command as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "integration"
RUN_TIMEOUT_S = 240


def campaign_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "master.cli", *args]


def report_dir_of(stdout: str) -> Path:
    """The report directory a ``campaign run`` names on its ``report: PATH`` line."""
    line = next(line for line in stdout.splitlines() if line.startswith("report: "))
    return Path(line.split("report: ", 1)[1]).parent


@pytest.fixture
def run_campaign(tmp_path):
    """Run ``campaign ARGS`` in tmp_path with its own state and reports dirs; returns the CompletedProcess."""

    def run(*args: str, env: dict | None = None, timeout: float = RUN_TIMEOUT_S):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            campaign_cmd(*args, "--state-dir", str(tmp_path / "state"), "--reports-dir", str(tmp_path / "reports")),
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
