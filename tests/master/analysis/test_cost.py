"""Tests of master.analysis.cost: cost and CO2 per job and per variant, against hand-computed figures."""

import json

import pytest

from master.analysis.cost import add_costs, job_cost
from master.analysis.pricing import Rates, load_pricing
from master.analysis.summarize import summarize_run
from tests.master.analysis.kind_results import add_kind_jobs, live_metrics, result
from tests.master.analysis.test_pricing import JSON_FILE

RATES = Rates("h", "eu", electricity_per_kwh=0.25, gco2_per_kwh=300.0, node_cost_per_hour=0.36)
NO_NODE_COST = Rates("h", "eu", electricity_per_kwh=0.25, gco2_per_kwh=300.0, node_cost_per_hour=None)


def transcode(energy_j, frames=300, fps=None, rate=30, estimated=False, missing=None):
    """A transcode job whose result used ``energy_j`` joules for ``frames`` frames over 10 s of wall time."""
    res = result({"total_energy_j": energy_j, "frames": frames}, missing, estimated)
    res["started_at"], res["finished_at"] = "2026-11-27T03:40:00.000Z", "2026-11-27T03:40:10.000Z"
    params = {"kind": "transcode", "fps": fps, "input": {"source": "testsrc2", "rate": rate}}
    return {"id": "j", "kind": "transcode", "params": params, "node_id": "n-1"}, res


def test_transcode_costs_by_hand():
    """7,200 J = 0.002 kWh: 0.0005 at 0.25/kWh, 0.6 g at 300 g/kWh; 10 s of wall time at 0.36/h = 0.001;
    300 frames at 30 fps = 10 s of video = 1/360 h: 0.18 and 216 g per hour of video."""
    job, res = transcode(7200.0)
    f = job_cost(job, res, RATES)["figures"]
    assert f["kwh"] == pytest.approx(0.002)
    assert f["energy_cost"] == pytest.approx(0.0005)
    assert f["co2_g"] == pytest.approx(0.6)
    assert f["node_hours"] == pytest.approx(10 / 3600)
    assert f["compute_cost"] == pytest.approx(0.001)
    assert f["media_hours"] == pytest.approx(1 / 360)
    assert f["energy_cost_per_video_hour"] == pytest.approx(0.18)
    assert f["co2_g_per_video_hour"] == pytest.approx(216.0)
    assert f["compute_cost_per_video_hour"] == pytest.approx(0.36)
    assert f["energy_cost_per_frame"] == pytest.approx(0.0005 / 300)
    assert f["co2_g_per_frame"] == pytest.approx(0.002)
    assert f["stream_hours"] is None


def test_output_fps_wins_over_input_rate():
    """With fps 60 the 300 frames are 5 s of video: twice the cost per hour of video."""
    job, res = transcode(7200.0, fps=60)
    assert job_cost(job, res, RATES)["figures"]["energy_cost_per_video_hour"] == pytest.approx(0.36)


def test_missing_energy_is_none_with_its_reason_never_zero():
    """No energy: every energy figure is None, its reason the agent's, while the compute cost stays."""
    job, res = transcode(None, missing={"total_energy_j": "sensor unreadable"})
    cost = job_cost(job, res, RATES)
    for name in ("kwh", "energy_cost", "co2_g", "energy_cost_per_video_hour", "energy_cost_per_frame"):
        assert cost["figures"][name] is None
    assert cost["missing"]["energy_cost"] == "no energy: sensor unreadable"
    assert cost["missing"]["energy_cost_per_video_hour"] == "no energy: sensor unreadable"
    assert cost["figures"]["compute_cost"] == pytest.approx(0.001)


def test_no_node_cost_leaves_compute_cost_missing():
    """Without a node cost per hour the compute cost is None with the reason, the energy cost is there."""
    job, res = transcode(7200.0)
    cost = job_cost(job, res, NO_NODE_COST)
    assert cost["figures"]["compute_cost"] is None
    assert "no node_cost_per_hour" in cost["missing"]["compute_cost"]
    assert cost["figures"]["energy_cost"] == pytest.approx(0.0005)


def test_unknown_frame_rate_leaves_per_video_hour_missing():
    """A file input without fps: no media length, so nothing per hour of video, with the reason."""
    job, res = transcode(7200.0, rate=None)
    cost = job_cost(job, res, RATES)
    assert cost["figures"]["energy_cost_per_video_hour"] is None
    assert "frame rate unknown" in cost["missing"]["energy_cost_per_video_hour"]


def test_estimated_energy_marks_the_cost_estimated():
    """Costs of estimated energy say so."""
    job, res = transcode(7200.0, estimated=True)
    assert job_cost(job, res, RATES)["estimated"] is True
    job, res = transcode(7200.0)
    assert job_cost(job, res, RATES)["estimated"] is False


def test_live_costs_per_stream_hour():
    """2 streams at 40 W for 4 s: 160 J; 2 x 4 s = 1/450 stream-hours; 160 J = 160/3.6e6 kWh."""
    res = result(live_metrics(True, 40.0, 2))
    job = {"id": "j", "kind": "multi", "params": {"kind": "multi"}}
    f = job_cost(job, res, RATES)["figures"]
    kwh = 160 / 3.6e6
    assert f["stream_hours"] == pytest.approx(8 / 3600)
    assert f["energy_cost_per_stream_hour"] == pytest.approx(kwh * 0.25 / (8 / 3600))
    assert f["co2_g_per_stream_hour"] == pytest.approx(kwh * 300 / (8 / 3600))
    assert f["media_hours"] is None


def test_add_costs_recomputes_from_each_result(run):
    """Each variant's mean energy cost and CO2 equal the mean of total_energy_j / 3.6e6 x the default price of the
    JSON file; the pricing block names the file; the summary's other keys are unchanged."""
    add_kind_jobs(run)
    plain = json.loads(json.dumps(summarize_run(run)))
    summary = add_costs(run, summarize_run(run), load_pricing(JSON_FILE))
    assert summary["pricing"]["file"] == str(JSON_FILE) and summary["pricing"]["currency"] == "USD"
    for variant, before in zip(summary["variants"], plain["variants"], strict=True):
        assert {k: v for k, v in variant.items() if k != "cost"} == before
        energies = [
            j["result"]["metrics"]["total_energy_j"]
            for j in run["jobs"]
            if j.get("variant") == variant["variant"]
            and j["state"] == "succeeded"
            and j["result"]["metrics"].get("total_energy_j") is not None
        ]
        stats = variant["cost"]["stats"]
        if energies:
            mean_kwh = sum(energies) / len(energies) / 3.6e6
            assert stats["energy_cost"]["mean"] == pytest.approx(mean_kwh * 0.12)
            assert stats["co2_g"]["mean"] == pytest.approx(mean_kwh * 400)
        else:
            assert stats["energy_cost"]["n"] == 0 and variant["cost"]["missing"]["energy_cost"]
    x264 = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")
    assert x264["cost"]["estimated"] is True
    assert x264["cost"]["rates"][0]["source"]["electricity_per_kwh"].endswith("electricity_prices.default")


def test_add_costs_without_pricing_adds_no_cost(run):
    """No pricing: the summary is summarize_run's (no cost, no pricing block); a run without density has no
    capacity."""
    summary = add_costs(run, summarize_run(run), None)
    assert summary == summarize_run(run)
    assert "pricing" not in summary and all("cost" not in v for v in summary["variants"])


def test_host_the_file_cannot_price_is_missing_not_fatal(run, tmp_path):
    """A file without default that places no host of the run: the costs are None with the host named, and the
    capacity plan notes it; nothing raises, so the report is still written."""
    path = tmp_path / "p.yml"
    path.write_text("regions:\n  eu: {electricity_per_kwh: 1, gco2_per_kwh: 2}\nhosts:\n  other: {region: eu}\n")
    summary = add_costs(add_kind_jobs(run), summarize_run(run), load_pricing(path))
    x264 = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")["cost"]
    assert x264["stats"]["energy_cost"]["n"] == 0
    assert any("host dev1" in reason for reason in x264["missing"]["energy_cost"])
    (profile,) = summary["capacity"]["profiles"]
    assert profile["energy_cost_per_month"] is None and any("host rapl1" in n for n in profile["notes"])
