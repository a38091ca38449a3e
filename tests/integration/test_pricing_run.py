"""Cost and carbon end to end: `campaign run --pricing` on the embedded default, `campaign report` with the campaign's
pricing: key and with --pricing, `campaign plan-capacity` of the stored run."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import campaign_cmd, report_dir_of

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
JSON_PRICING = ROOT / "tests" / "data" / "pricing_config.json"

CAMPAIGN = """\
name: priced
pricing: prices.yml
defaults:
  idle_baseline: 0.5
  sample_rate: 20
  timeout: 60
scenarios:
  - name: x264
    kind: transcode
    input: {source: testsrc2, size: 320x240, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 300k
    duration: 1
  - name: dense
    kind: density
    input: {source: testsrc2, size: 320x240, rate: 25}
    encoder: libx264
    preset: ultrafast
    bitrate: 200k
    max_streams: 2
    stagger: 0.2
    duration: 2
"""

PRICES_YML = "currency: EUR\nregions:\n  default: {electricity_per_kwh: 0.3, gco2_per_kwh: 100}\n"


def energies(run: dict, variant: str) -> list[float]:
    """total_energy_j of the variant's succeeded results, as stored."""
    return [
        j["result"]["metrics"]["total_energy_j"]
        for j in run["jobs"]
        if j["variant"] == variant and j["state"] == "succeeded"
    ]


def check_costs(run: dict, price: float, intensity: float) -> None:
    """Each variant's energy cost and CO2 equal its results' energy x price and x intensity, recomputed here."""
    for variant in run["summary"]["variants"]:
        values = energies(run, variant["variant"])
        assert values and all(v > 0 for v in values), variant["variant"]
        kwh = statistics.fmean(values) / 3.6e6
        stats = variant["cost"]["stats"]
        assert stats["kwh"]["mean"] == pytest.approx(kwh)
        assert stats["energy_cost"]["mean"] == pytest.approx(kwh * price)
        assert stats["co2_g"]["mean"] == pytest.approx(kwh * intensity)
        assert variant["cost"]["estimated"] == variant["provenance"]["estimated"]


def test_priced_run_report_and_capacity(run_campaign, tmp_path):
    """--pricing JSON wins over the campaign's pricing: file; `campaign report` without the flag uses the campaign's;
    the report has the section and the capacity block; plan-capacity plans from the stored density result."""
    (tmp_path / "prices.yml").write_text(PRICES_YML)
    (tmp_path / "priced.yml").write_text(CAMPAIGN)
    proc = run_campaign("run", "priced.yml", "--pricing", str(JSON_PRICING))
    assert proc.returncode == 0, proc.stderr
    out = report_dir_of(proc.stdout)
    run = json.loads((out / "results.json").read_text())
    assert run["summary"]["pricing"]["file"] == str(JSON_PRICING)
    check_costs(run, 0.12, 400)
    (job,) = [j for j in run["jobs"] if j["variant"].startswith("x264")]
    metrics = job["result"]["metrics"]
    per_hour = metrics["total_energy_j"] / 3.6e6 * 0.12 / (metrics["frames"] / 25 / 3600)
    transcode = next(v for v in run["summary"]["variants"] if v["kind"] == "transcode")
    assert transcode["cost"]["stats"]["energy_cost_per_video_hour"]["mean"] == pytest.approx(per_hour)
    html = (out / "index.html").read_text()
    assert '<section id="cost">' in html and 'id="cost-table"' in html and 'id="capacity-table"' in html

    again = run_campaign("report")
    assert again.returncode == 0, again.stderr
    run = json.loads((report_dir_of(again.stdout) / "results.json").read_text())
    assert run["summary"]["pricing"]["file"] == str(tmp_path / "prices.yml")
    assert run["summary"]["pricing"]["currency"] == "EUR"
    check_costs(run, 0.3, 100)

    plan = subprocess.run(
        campaign_cmd("plan-capacity", "latest", "--streams", "10", "--json", "--state-dir", str(tmp_path / "state")),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plan.returncode == 0, plan.stderr
    (profile,) = json.loads(plan.stdout)["profiles"]
    density = next(j for j in run["jobs"] if j["variant"] == profile["variant"])["result"]["metrics"]
    assert profile["max_streams"] == density["max_streams"]
    if density["max_streams"]:
        assert profile["nodes"] == -(-10 // density["max_streams"])
        assert profile["kwh_per_month"] == pytest.approx(density["watts_per_stream"] * 10 * 730 / 1000)
        assert profile["energy_cost_per_month"] == pytest.approx(profile["kwh_per_month"] * 0.3)
