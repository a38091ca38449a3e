"""A campaign run the way a user runs it (``campaign run`` on the embedded default), timed, in a temporary state dir."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_embedded(campaign: Path, timeout_s: float, cwd: Path | None = None) -> tuple[int, float, dict | None]:
    """Run ``campaign run CAMPAIGN`` with temporary state and reports dirs: (exit code, wall time in s, the report's
    results.json); on failure the results are None and the command's stderr is printed."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "master.cli",
                "run",
                str(campaign),
                "--state-dir",
                f"{tmp}/state",
                "--reports-dir",
                f"{tmp}/reports",
            ],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=cwd,
        )
        wall = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode, wall, None
        report = Path(proc.stdout.strip().splitlines()[-1].split("report: ", 1)[1])
        return 0, wall, json.loads((report.parent / "results.json").read_text())
