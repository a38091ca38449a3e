"""`campaign run` on the embedded default reads file inputs from the campaign file's directory (and --input-dir),
and fails a job whose input lies anywhere else with the reason; real master, agent and FFmpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CAMPAIGN = """\
name: inputs
defaults: {{idle_baseline: 0, sample_rate: 20, timeout: 60, quality: false}}
scenarios:
  - {{name: inside, kind: transcode, input: {{file: clips/a.mp4}}, encoder: libx264, bitrate: 200k, duration: 1}}
  - {{name: outside, kind: transcode, input: {{file: {outside}}}, encoder: libx264, bitrate: 200k, duration: 1}}
"""


def _clip(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x90:rate=10",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-y",
            str(path),
        ],
        check=True,
    )
    return path


def test_embedded_agent_reads_only_the_campaign_dir(run_campaign, tmp_path):
    """The clip beside the campaign file is encoded; the one elsewhere fails with the allowed directories named."""
    _clip(tmp_path / "campaign" / "clips" / "a.mp4")
    outside = _clip(tmp_path / "elsewhere" / "b.mp4")
    (tmp_path / "campaign" / "inputs.yml").write_text(CAMPAIGN.format(outside=outside))
    proc = run_campaign("run", str(tmp_path / "campaign" / "inputs.yml"))
    assert proc.returncode == 0, proc.stderr
    report = next(line for line in proc.stdout.splitlines() if line.startswith("report: "))
    run = json.loads((Path(report.split("report: ", 1)[1]).parent / "results.json").read_text())
    jobs = {job["name"]: job for job in run["jobs"]}
    assert jobs["inside#1"]["state"] == "succeeded"
    assert jobs["outside#1"]["state"] == "failed"
    assert jobs["outside#1"]["error"].startswith(f"input {outside} is outside the allowed input directories: ")
    assert str(tmp_path / "campaign") in jobs["outside#1"]["error"]
