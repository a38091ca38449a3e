"""Derived efficiency metrics (master/analysis/derived.py) per run and per variant."""

import pytest

from master.analysis.derived import derived_metrics, frame_size
from master.analysis.summarize import summarize_run

TRANSCODE = {"kind": "transcode", "resolution": "1280x720", "input": {"source": "testsrc2", "size": "640x360"}}


def result(**metrics) -> dict:
    return {"status": "succeeded", "metrics": metrics, "missing": {}}


def test_transcode_figures():
    """frames x width x height / J and Mbps / W; no per-stream figure for a transcode."""
    values, missing = derived_metrics(
        "transcode", TRANSCODE, result(frames=120, total_energy_j=60.0, bitrate_kbps=3000.0, mean_watts=20.0)
    )
    assert values == {"pixels_per_joule": pytest.approx(120 * 1280 * 720 / 60.0), "mbps_per_watt": 0.15}
    assert missing == {}


def test_frame_size_from_resolution_else_input():
    assert frame_size(TRANSCODE) == (1280, 720)
    assert frame_size({"input": {"source": "testsrc2", "size": "640x360"}}) == (640, 360)
    assert frame_size({"input": {"file": "clip.mp4"}}) is None


def test_missing_inputs_give_none_with_the_reason():
    """No energy: None with the agent's reason; a file input without resolution: the size is unknown; 0 W: no
    division."""
    res = result(frames=120, total_energy_j=None, bitrate_kbps=3000.0, mean_watts=0.0)
    res["missing"]["total_energy_j"] = "no power source"
    values, missing = derived_metrics("transcode", TRANSCODE, res)
    assert values == {"pixels_per_joule": None, "mbps_per_watt": None}
    assert missing["pixels_per_joule"] == "total_energy_j not measured: no power source"
    assert missing["mbps_per_watt"] == "mean_watts is 0"
    values, missing = derived_metrics("transcode", {"input": {"file": "a.mp4"}}, result(frames=1, total_energy_j=2.0))
    assert values["pixels_per_joule"] is None and "frame size unknown" in missing["pixels_per_joule"]


def test_ladder_uses_its_pixels_and_live_kinds_their_stream_hour():
    values, _ = derived_metrics("ladder", {}, result(pixels=1_000_000, total_energy_j=4.0))
    assert values["pixels_per_joule"] == 250_000
    values, missing = derived_metrics("multi", {"resolution": "640x360"}, result(watts_per_stream=12.5))
    assert values["joules_per_stream_hour"] == 45_000 and "joules_per_stream_hour" not in missing


def test_variant_statistics_include_derived_and_stay_estimated(run):
    """The quick run's transcodes: pixels per joule over the runs; the estimated variant's provenance says so."""
    variants = {v["variant"]: v for v in summarize_run(run)["variants"]}
    veryfast = variants["x264-veryfast"]
    stat = veryfast["stats"]["pixels_per_joule"]
    assert stat["n"] == 2 and stat["mean"] > 0 and stat["cv"] is not None
    assert stat["estimated"] is True and veryfast["provenance"]["estimated"]
    assert variants["x265-fast"]["stats"]["pixels_per_joule"]["estimated"] is False
    assert veryfast["stats"]["joules_per_stream_hour"]["n"] == 0
    assert "joules_per_stream_hour" not in veryfast["missing"]
    assert variants["nvenc-p4"]["stats"]["pixels_per_joule"]["mean"] is None
    assert veryfast["outliers"] == {"rule": "tukey-1.5iqr", "min_runs": 4, "metrics": {}}
