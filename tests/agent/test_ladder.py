"""The ``ladder`` scenario: one input decoded once, split, scaled and encoded to every rung in one FFmpeg process.

Real FFmpeg (libx264 ultrafast, small sizes, ~2 s of input); power from the simulated powercap tree or the estimate."""

from __future__ import annotations

import json
import subprocess

import pytest

from agent.ffmpeg.ladder import check_rungs, count_frames, failed_rung, filter_graph, ladder_argv
from agent.power.estimate import EstimateSource
from agent.scenarios.base import JobFailed, RunContext
from agent.scenarios.ladder import Ladder
from tests.agent.power.powercap_sim import running_rapl

WATTS = {"package-0": 40.0, "dram-0": 5.0}
RUNGS = [
    {"resolution": "320x180", "bitrate": "400k"},
    {"resolution": "160x90", "bitrate": "150k"},
    {"resolution": "96x54", "bitrate": "60k"},
]


@pytest.fixture
def rapl_sources():
    """RAPL sources over a simulated tree at a constant 45 W in all, advancing in real time."""
    with running_rapl(WATTS, packages=1) as sources:
        yield sources


def _ctx(ffmpeg, sources, tmp_path, usable=True) -> RunContext:
    check = {"usable": usable, "reason": None if usable else "probe failed: no device"}
    return RunContext(ffmpeg=ffmpeg, sources=sources, power_notes=[], workdir=tmp_path, encoder_check=lambda e: check)


def _params(**extra) -> dict:
    params = {
        "kind": "ladder",
        "input": {"type": "lavfi", "source": "testsrc2", "size": "320x180", "rate": 30},
        "encoder": "libx264",
        "preset": "ultrafast",
        "fps": None,
        "duration": 2,
        "rungs": RUNGS,
        "stabilization": None,
        "cooldown": None,
        "idle_baseline": None,
        "sample_rate": 20,
        "timeout": 60,
    }
    params.update(extra)
    return params


def _job(params: dict) -> dict:
    return {"id": "j-l", "attempt": 1, "name": "ladder#1", "kind": "ladder", "params": params}


def _run(job, ctx) -> tuple[dict, list]:
    """prepare / run / cleanup like the agent's job runner; returns the result and the outputs prepare named."""
    scenario = Ladder()
    state = scenario.prepare(job, ctx)
    try:
        return scenario.run(job, ctx, state), state["outputs"]
    finally:
        scenario.cleanup(job, ctx, state)
        assert not any(p.exists() for p in state["outputs"]), "cleanup leaves no rung output behind"


def _pixels(rungs, frames_each):
    total = 0
    for rung in rungs:
        w, h = (int(x) for x in rung["resolution"].split("x"))
        total += frames_each * w * h
    return total


# --- argv and parsing ------------------------------------------------------------------------------------------------


def test_argv_one_process_split_and_one_map_per_rung():
    argv = ladder_argv("ffmpeg", _params(fps=15), ["/w/a.mp4", "/w/b.mp4", "/w/c.mp4"])
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph == (
        "[0:v:0]split=4[s0][s1][s2][tap];[s0]fps=15[r0];[s1]scale=160:90,fps=15[r1];[s2]scale=96:54,fps=15[r2]"
    )
    assert argv.count("-i") == 1 and argv.index("-t") < argv.index("-i")  # decoded once, for duration seconds
    maps = [argv[i + 1] for i, a in enumerate(argv) if a == "-map"]
    assert maps == ["[tap]", "[r0]", "[r1]", "[r2]"]
    assert argv[argv.index("[tap]") + 1 : argv.index("[tap]") + 4] == ["-f", "null", "-"]
    rates = [argv[i + 1] for i, a in enumerate(argv) if a == "-b:v"]
    assert rates == ["400k", "150k", "60k"] and argv.count("-c:v") == 3 and argv[-1] == "/w/c.mp4"
    assert argv.count("ultrafast") == 3 and "-progress" in argv


def test_argv_vaapi_uploads_per_branch():
    graph = filter_graph("h264_vaapi", _params(rungs=RUNGS[:1]), "320x180", None)
    assert graph == "[0:v:0]split=2[s0][tap];[s0]format=nv12,hwupload[r0]"
    assert "-vaapi_device" in ladder_argv("ffmpeg", _params(encoder="h264_vaapi", rungs=RUNGS[:1]), ["/w/a.mp4"])


@pytest.mark.parametrize(
    "rungs, message",
    [
        ([], "1 to 16 rungs"),
        ([{"resolution": "1280x720", "bitrate": "1M"}] * 17, "1 to 16 rungs"),
        ([{"resolution": "1280x720", "bitrate": "1M"}, {"resolution": "big", "bitrate": "1M"}], "rung 2 .*1280x720"),
        ([{"resolution": "640x360", "bitrate": None}], "rung 1 \\(640x360 at None\\): a bitrate is required"),
    ],
)
def test_bad_rungs(rungs, message):
    with pytest.raises(ValueError, match=message):
        check_rungs(rungs)


def test_failed_rung_from_both_ffmpeg_generations():
    old = [
        "[libx264 @ 0x55fbe91391c0] width not divisible by 2 (161x91)",
        "Error initializing output stream 2:0 -- Error while opening encoder for output stream #2:0 - maybe "
        "incorrect parameters such as bit_rate, rate, width or height",
    ]
    new = [
        "[libx264 @ 0x5574f378ae80] width not divisible by 2 (161x91)",
        "[vost#2:0/libx264 @ 0x5574f3788dc0] [enc:libx264 @ 0x5574f3789700] Error while opening encoder - maybe",
        "[fc#0 @ 0x5574f3782d00] Error sending frames to consumers: Generic error in an external library",
        "[out#3/mp4 @ 0x5574f3789780] Nothing was written into output file",
    ]
    assert failed_rung(old, 3) == (1, "width not divisible by 2 (161x91)")
    assert failed_rung(new, 3) == (1, "width not divisible by 2 (161x91)")
    assert failed_rung(["[out#0/null @ 0x1] something"], 3) is None  # output #0 is the tap, not a rung


def test_count_frames_missing_and_empty(ffmpeg, tmp_path):
    assert count_frames(ffmpeg.path, str(tmp_path / "nope.mp4")).error.startswith("output missing")
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert count_frames(ffmpeg.path, str(tmp_path / "empty.mp4")).error.startswith("output is empty")
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    assert count_frames(ffmpeg.path, str(tmp_path / "junk.mp4"), timeout_s=30).error.startswith("output unreadable")


# --- the scenario ----------------------------------------------------------------------------------------------------


def test_three_rungs_on_simulated_rapl(ffmpeg, rapl_sources, tmp_path):
    """Each rung holds duration x fps frames, read back from its file; pixels and J/MP follow from those counts."""
    ctx = _ctx(ffmpeg, rapl_sources, tmp_path)
    result, outputs = _run(_job(_params(fps=15, idle_baseline=0.3)), ctx)
    m, missing = result["metrics"], result["missing"]
    rungs = result["rungs"]
    assert [r["frames"] for r in rungs] == [30, 30, 30]  # 2 s x 15 fps each
    assert [r["resolution"] for r in rungs] == [r["resolution"] for r in RUNGS]
    assert [r["bitrate"] for r in rungs] == ["400k", "150k", "60k"]
    assert all(r["error"] is None and r["output_bytes"] > 0 and r["bitrate_kbps"] > 0 for r in rungs)
    assert [r["pixels"] for r in rungs] == [30 * 320 * 180, 30 * 160 * 90, 30 * 96 * 54]
    assert m["rungs"] == 3 and m["source_frames"] == 60 and m["frames"] == 90
    assert m["pixels"] == _pixels(RUNGS, 30)
    assert m["output_bytes"] == sum(r["output_bytes"] for r in rungs)
    assert m["bitrate_kbps"] == pytest.approx(sum(r["bitrate_kbps"] for r in rungs), rel=1e-3)
    assert m["fps"] == pytest.approx(60 / m["duration_s"], rel=1e-3) and m["speed"] > 0
    total = m["total_energy_j"]
    assert total == pytest.approx(45.0 * m["duration_s"], rel=0.15)
    assert m["joules_per_frame"] == pytest.approx(total / 90, rel=1e-4)
    assert m["joules_per_megapixel"] == pytest.approx(total / (m["pixels"] / 1e6), rel=1e-4)
    assert m["idle_watts"] == pytest.approx(45.0, rel=0.1) and m["dynamic_energy_j"] is not None
    assert all(key in missing for key, value in m.items() if value is None)
    assert result["baseline"]["idle_watts"] == pytest.approx(45.0, rel=0.1)
    assert result["provenance"]["estimated"] is False and result["samples"]
    argv = result["ffmpeg"]["argv"]
    assert argv[0] == ffmpeg.path and "-filter_complex" in argv and argv.count("-i") == 1
    assert all(str(p) in argv for p in outputs) and argv[-1] == str(outputs[-1])
    assert result["ffmpeg"]["version"] == ffmpeg.version and result["quality"] is None
    assert not any("early" in n or "differ" in n for n in result["provenance"]["notes"])
    json.dumps(result, allow_nan=False)


def test_three_rungs_with_the_estimate(ffmpeg, tmp_path):
    """Estimated energy: labelled so, idle null with a reason, J/MP still total / megapixels; no fps -> input rate."""
    ctx = _ctx(ffmpeg, [EstimateSource(tdp_watts=20)], tmp_path)
    result, _ = _run(_job(_params(rungs=RUNGS[1:], duration=1)), ctx)
    m, missing = result["metrics"], result["missing"]
    assert [r["frames"] for r in result["rungs"]] == [30, 30] and m["source_frames"] == 30 and m["frames"] == 60
    assert m["pixels"] == _pixels(RUNGS[1:], 30)
    assert result["provenance"]["estimated"] is True
    assert m["idle_watts"] is None and "idle_watts" in missing
    if m["total_energy_j"]:
        assert m["joules_per_megapixel"] == pytest.approx(m["total_energy_j"] / (m["pixels"] / 1e6), rel=1e-4)
    else:
        assert m["joules_per_megapixel"] is None and "joules_per_megapixel" in missing


def test_rung_an_encoder_refuses_fails_naming_the_rung(any_ffmpeg, tmp_path):
    """libx264 with 4:2:0 refuses an odd width: the whole process fails, the reason names that rung."""
    rungs = [RUNGS[0], {"resolution": "161x91", "bitrate": "100k"}, RUNGS[2]]
    with pytest.raises(JobFailed) as failed:
        _run(_job(_params(rungs=rungs)), _ctx(any_ffmpeg, [EstimateSource(tdp_watts=20)], tmp_path))
    assert failed.value.reason == "rung 2 (161x91 at 100k): libx264 failed: width not divisible by 2 (161x91)"
    assert failed.value.extra["ffmpeg"]["stderr_tail"]


def test_file_input_that_ends_early(ffmpeg, tmp_path):
    """A 1 s file asked for 2 s: each rung holds the frames the file really had, and a note says the input ended."""
    clip = tmp_path / "short.mp4"
    subprocess.run(
        [
            ffmpeg.path,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=30:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(clip),
        ],
        check=True,
        timeout=60,
    )
    params = _params(input={"type": "file", "path": str(clip)}, rungs=RUNGS[1:])
    result, _ = _run(_job(params), _ctx(ffmpeg, [EstimateSource(tdp_watts=20)], tmp_path))
    assert [r["frames"] for r in result["rungs"]] == [30, 30]  # not duration x rate = 60
    assert result["metrics"]["source_frames"] == 30 and result["metrics"]["frames"] == 60
    assert any(n.startswith("input ended early") for n in result["provenance"]["notes"])


def test_encoder_unavailable(ffmpeg, tmp_path):
    with pytest.raises(JobFailed, match=r"^encoder unavailable: libx264 \(probe failed: no device\)$"):
        Ladder().prepare(_job(_params()), _ctx(ffmpeg, [], tmp_path, usable=False))


def test_bad_params_fail_in_prepare(ffmpeg, tmp_path):
    with pytest.raises(JobFailed, match="bad ladder params: rung 1 .*size must look like"):
        Ladder().prepare(_job(_params(rungs=[{"resolution": "720p", "bitrate": "1M"}])), _ctx(ffmpeg, [], tmp_path))
