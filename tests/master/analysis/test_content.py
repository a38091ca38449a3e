"""Content in the summary: each variant's source and SI/TI, and the warnings (bitrate not reached, quality against
another source, inline render), each present when it should be and not otherwise; old results give none."""

from __future__ import annotations

import copy

import pytest

from master.analysis.content import INLINE_MESSAGE, SAME_SOURCE_MESSAGE, job_warnings, target_kbps
from master.analysis.summarize import summarize_run

SHA = "3f" * 32


def with_source(run: dict, render: str = "prepared", **source) -> dict:
    """Every succeeded result of the run gets a prepared medium source with SI/TI (a current agent)."""
    for index, job in enumerate(j for j in run["jobs"] if j["state"] == "succeeded"):
        job["result"]["source"] = {
            "render": render,
            "content": "medium",
            "graph": "testsrc2,noise",
            "file": None,
            "sha256": SHA,
            "bytes": 1000,
            "format": "nut",
            "loop": True,
            "segment_s": 10.0,
            "render_s": 1.5,
            "cached": index > 0,
            "si_mean": 60.0 + index,
            "si_max": 70.0,
            "ti_mean": 10.0 + index,
            "ti_max": 20.0,
            "siti_reason": None,
            **source,
        }
        job["result"]["metrics"].update(si=60.0 + index, ti=10.0 + index)
    return run


@pytest.mark.parametrize(
    ("value", "kbps"),
    [
        ("3000k", 3000.0),
        ("6M", 6000.0),
        ("2.5M", 2500.0),
        ("800000", 800.0),
        (1500.0, 1500.0),
        (None, None),
        ("fast", None),
        (True, None),
    ],
)
def test_target_kbps(value, kbps):
    """Campaign bitrates in kb/s; a number is kb/s already; anything else is no target."""
    assert target_kbps(value) == kbps


def test_old_results_have_no_source_and_no_warning(run):
    """The quick run's results come from an agent that knew no source: nothing to warn about, nothing missing."""
    summary = summarize_run(run)
    assert summary["warnings"] == []
    variant = summary["variants"][0]
    assert variant["warnings"] == [] and variant["source"]["render"] == [] and variant["source"]["si_mean"] is None
    assert "si" not in variant["missing"] and variant["stats"]["si"]["n"] == 0
    assert summary["provenance"]["source_renders"] == {}


def test_variant_source_and_si_ti_statistics(run):
    """SI/TI are summarized per variant; the variant names its render, content and hash."""
    summary = summarize_run(with_source(run))
    variant = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")
    assert variant["stats"]["si"]["mean"] == 60.5 and variant["stats"]["ti"]["n"] == 2
    assert (variant["source"]["render"], variant["source"]["content"], variant["source"]["sha256"]) == (
        ["prepared"],
        ["medium"],
        [SHA],
    )
    assert variant["source"]["si_mean"] == [60.0, 61.0]
    assert summary["provenance"]["source_renders"] == {"prepared": 6}
    assert summary["warnings"] == []


def test_low_bitrate_warning_only_below_70_percent(run):
    """2000 of 3000 kb/s (67%) warns; 2100 (70%) does not; a crf job never does."""
    jobs = {j["id"]: j for j in run["jobs"]}
    jobs["j-0001"]["result"]["metrics"]["bitrate_kbps"] = 2000.0
    jobs["j-0002"]["result"]["metrics"]["bitrate_kbps"] = 2100.0
    jobs["j-0005"]["result"]["metrics"]["bitrate_kbps"] = 1.0  # x265 at crf 28: no target
    summary = summarize_run(run)
    assert summary["warnings"] == [
        {
            "variant": "x264-veryfast",
            "kind": "low_bitrate",
            "job": "x264-veryfast#1",
            "message": "content too easy for the bitrate: achieved 2000 of 3000 kb/s",
        }
    ]
    variant = next(v for v in summary["variants"] if v["variant"] == "x264-veryfast")
    assert [w["job"] for w in variant["warnings"]] == ["x264-veryfast#1"]


def test_low_bitrate_per_stream_and_per_rung():
    """Live and multi compare each stream with its target; a ladder each rung with its bitrate."""
    live = {"name": "live#1", "params": {"kind": "multi", "bitrate": "3000k"}}
    result = {
        "metrics": {"bitrate_kbps": 4000.0},
        "streams": [
            {"index": 0, "target_bitrate_kbps": 3000.0, "bitrate_kbps": 3100.0},
            {"index": 1, "target_bitrate_kbps": 3000.0, "bitrate_kbps": 900.0},
        ],
    }
    assert [w["message"] for w in job_warnings(live, result)] == [
        "stream 1: content too easy for the bitrate: achieved 900 of 3000 kb/s"
    ]
    ladder = {"name": "ladder#1", "params": {"kind": "ladder"}}
    rungs = {
        "metrics": {},
        "rungs": [
            {"resolution": "1280x720", "bitrate": "3000k", "bitrate_kbps": 1000.0},
            {"resolution": "640x360", "bitrate": "800k", "bitrate_kbps": 790.0},
        ],
    }
    assert [w["message"] for w in job_warnings(ladder, rungs)] == [
        "rung 1 (1280x720): content too easy for the bitrate: achieved 1000 of 3000 kb/s"
    ]
    total = {"metrics": {"bitrate_kbps": 1000.0, "target_bitrate_kbps": 6000.0}}
    assert [w["message"] for w in job_warnings(live, total)] == [
        "content too easy for the bitrate: achieved 1000 of 6000 kb/s"
    ]


def test_different_source_warning(run):
    """quality.same_source false warns; true or absent does not."""
    jobs = {j["id"]: j for j in run["jobs"]}
    jobs["j-0003"]["result"]["quality"] = {"same_source": False}
    jobs["j-0004"]["result"]["quality"] = {"same_source": True}
    warnings = summarize_run(run)["warnings"]
    assert [(w["job"], w["kind"], w["message"]) for w in warnings] == [
        ("x264-medium#1", "different_source", SAME_SOURCE_MESSAGE)
    ]


def test_inline_render_warning(run):
    """An inline source warns (from the result, else from the job's input); prepared and file do not."""
    warned = summarize_run(with_source(copy.deepcopy(run), render="inline"))["warnings"]
    assert {w["kind"] for w in warned} == {"inline_render"} and len(warned) == 6
    assert warned[0]["message"] == INLINE_MESSAGE
    assert summarize_run(with_source(copy.deepcopy(run), render="file"))["warnings"] == []
    for job in run["jobs"]:
        job["params"]["input"]["render"] = "inline"  # an agent that does not report its source
    assert len(summarize_run(run)["warnings"]) == 6
