"""A relative ``--state-dir`` (as the README's commands use) works for every pass of a job: the quality comparison,
which runs FFmpeg in its own working directory, still finds the prepared source and the encoded output."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_remote_cli import campaign

pytestmark = pytest.mark.integration

TINY = """\
name: relative
defaults: {idle_baseline: 0, sample_rate: 10, timeout: 90}
scenarios:
  - name: x264
    kind: transcode
    input: {content: medium, size: 320x240, rate: 25}
    encoder: libx264
    preset: ultrafast
    crf: 23
    duration: 1
"""


def test_quality_is_measured_with_a_relative_state_dir(tmp_path):
    (tmp_path / "tiny.yml").write_text(TINY)
    proc = campaign(tmp_path, "run", "tiny.yml", "--state-dir", "state", "--reports-dir", "reports", timeout=180)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("report: "))
    run = json.loads((tmp_path / line.split("report: ", 1)[1]).parent.joinpath("results.json").read_text())
    (job,) = run["jobs"]
    result = job["result"]
    assert job["state"] == "succeeded", job.get("error")
    assert result["metrics"]["psnr_db"] is not None, result["missing"].get("psnr_db")
    assert result["metrics"]["psnr_db"] > 20
