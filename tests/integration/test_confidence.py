"""``confidence:`` end to end: `campaign run` on the embedded default repeats variants until their interval is narrow
enough (real master over HTTP, real agent, real FFmpeg), the progress display follows the growing total, and the
report says reached or not consistently with the recorded joules per frame."""

from __future__ import annotations

import json

import pytest

from master.analysis.stats import summary
from tests.integration.conftest import report_dir_of

pytestmark = pytest.mark.integration

CAMPAIGN = """\
name: conf
description: confidence integration test
defaults:
  idle_baseline: 0
  sample_rate: 20
  timeout: 60
  quality: false
scenarios:
  - name: auto
    kind: transcode
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 300k
    duration: 1
    confidence: {target: 0.05, min: 2, max: 4}
  - name: tight
    kind: transcode
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 300k
    duration: 1
    confidence: {target: 0.00001, min: 2, max: 3}
  - name: loose
    kind: transcode
    input: {source: testsrc2, size: 320x180, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 300k
    duration: 1
    confidence: {target: 1.0, min: 2, max: 4}
"""
"""``auto``: a realistic target (either outcome); ``tight``: a target no two measured runs meet (it grows to max,
not reached); ``loose``: a wide target (usually reached at min)."""


def _reached(values: list[float], spec: dict) -> bool:
    rel = summary(values).rel_ci95
    return len(values) >= spec["min"] and rel is not None and rel <= spec["target"]


def test_confidence_campaign_grows_until_reached_or_max(run_campaign, tmp_path):
    """Measured (simulated RAPL at constant power, so J/frame follows each run's wall time and no two runs agree to
    0.001%): the tight variant grows to max, every variant stops at the first run count that reached its target or
    at max, and results.json's confidence entries agree with the recorded J/frame values."""
    from tests.agent.power.powercap_sim import running_sim

    path = tmp_path / "conf.yml"
    path.write_text(CAMPAIGN)
    with running_sim({"package-0": 25.0, "dram-0": 3.0}, range_uj=50_000_000, packages=1, psys=False) as sim:
        proc = run_campaign("run", str(path), env={"FFWATT_POWERCAP_ROOT": str(sim.root)})
    assert proc.returncode == 0, proc.stderr
    assert "6 jobs (up to 11 as confidence asks)" in proc.stderr
    run = json.loads((report_dir_of(proc.stdout) / "results.json").read_text())
    assert run["campaign"]["state"] == "finished"
    total = len(run["jobs"])
    assert 6 < total <= 11 and f" {total}/{total} " in proc.stderr  # the bar's total grew with the campaign
    variants = {v["variant"]: v for v in run["summary"]["variants"]}
    for name in ("auto", "tight", "loose"):
        jobs = sorted((j for j in run["jobs"] if j["variant"] == name), key=lambda j: j["repetition"])
        spec = jobs[0]["confidence"]
        assert [j["repetition"] for j in jobs] == list(range(1, len(jobs) + 1))
        assert spec["min"] <= len(jobs) <= spec["max"], name
        assert all(j["state"] == "succeeded" for j in jobs), [j["error"] for j in jobs]
        values = [j["result"]["metrics"]["joules_per_frame"] for j in jobs]
        assert all(v is not None and v > 0 for v in values)
        assert all(j["result"]["provenance"]["estimated"] is False for j in jobs)
        found = variants[name]["confidence"]
        assert (found["target"], found["min"], found["max"]) == (spec["target"], spec["min"], spec["max"])
        assert found["runs"] == len(values)
        assert found["reached"] is _reached(values, spec)
        assert found["half_width_pct"] == pytest.approx(summary(values).rel_ci95 * 100)
        # it stopped at the first run count that reached the target, or at max
        assert not any(_reached(values[:n], spec) for n in range(spec["min"], len(values)))
        assert found["reached"] or len(jobs) == spec["max"]
    assert len([j for j in run["jobs"] if j["variant"] == "tight"]) == 3
    assert variants["tight"]["confidence"]["reached"] is False
    added = [j for j in run["jobs"] if j["repetition"] > j["confidence"]["min"]]
    assert added and all(
        j["priority"] == 0 and j["params"] == run["jobs"][0]["params"] for j in added if j["variant"] == "auto"
    )
