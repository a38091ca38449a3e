"""Prepared sources: generated inputs rendered once outside the measured window, cached by their parameters, looped
beyond the size budget, with SI/TI; the measured argv of every kind reads the file, ``render: inline`` keeps lavfi.
Real FFmpeg (Debian 5.1), real nginx-rtmp for the live check."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from agent import sources
from agent.ffmpeg.command import transcode_argv
from agent.ffmpeg.ladder import ladder_argv
from agent.ffmpeg.live import live_argv
from agent.jobrun import execute_job
from agent.power.estimate import EstimateSource
from agent.rtmp import find_nginx
from agent.scenarios.base import JobFailed, LiveStatus, RunContext
from wire.content import CONTENT_PRESETS

NGINX, NO_NGINX = find_nginx()
SMALL = {"type": "lavfi", "source": "testsrc2", "size": "160x90", "rate": 30}
MEASURE = {"stabilization": 0, "cooldown": 0, "idle_baseline": 0, "sample_rate": 10, "timeout": 60}
SOURCE_FIELDS = {
    "render",
    "content",
    "graph",
    "file",
    "sha256",
    "bytes",
    "format",
    "loop",
    "segment_s",
    "render_s",
    "cached",
    "si_mean",
    "si_max",
    "ti_mean",
    "ti_max",
    "siti_reason",
}


class PhaseLog(LiveStatus):
    """A LiveStatus that remembers every phase it was set to."""

    def __setattr__(self, name, value):
        if name == "phase":
            self.__dict__.setdefault("phases", []).append(value)
        super().__setattr__(name, value)


def _ctx(tmp_path, ffmpeg, usable=True) -> RunContext:
    return RunContext(
        ffmpeg=ffmpeg,
        sources=[EstimateSource(tdp_watts=20)],
        power_notes=[],
        workdir=tmp_path,
        encoder_check=lambda e: {"usable": usable, "reason": None if usable else "probe failed"},
        live=PhaseLog(),
    )


def _params(kind="transcode", **extra) -> dict:
    params = {"kind": kind, "input": dict(SMALL), "encoder": "libx264", "preset": "ultrafast", "duration": 2, **MEASURE}
    if kind == "transcode":
        params.update(bitrate="200k", crf=None, resolution=None, fps=None, quality=True)
    elif kind == "ladder":
        params.update(
            fps=None, rungs=[{"resolution": "160x90", "bitrate": "200k"}, {"resolution": "96x54", "bitrate": "100k"}]
        )
    else:
        params.update(bitrate="200k", resolution=None, fps=None, gop=2, audio=True, ingest="auto", rtmp_url=None)
    params.update(extra)
    return params


def _job(params: dict) -> dict:
    return {"id": f"j-{params['kind']}", "attempt": 1, "name": "s#1", "kind": params["kind"], "params": params}


def _prepare(tmp_path, ffmpeg, **extra) -> sources.Source:
    return sources.prepare_source(_job(_params(**extra)), _ctx(tmp_path, ffmpeg))


@pytest.mark.parametrize("kind", ["transcode", "live", "multi", "density", "ladder"])
def test_measured_argv_of_every_kind_reads_the_prepared_file(kind, ffmpeg, tmp_path):
    """The argv each kind measures reads the raw file (no lavfi); pushers read it in real time, looped."""
    source = _prepare(tmp_path, ffmpeg, kind=kind)
    params, path = source.params, source.info["file"]
    if kind == "transcode":
        argv = transcode_argv(ffmpeg.path, params, str(tmp_path / "o.mp4"))
    elif kind == "ladder":
        argv = ladder_argv(ffmpeg.path, params, [str(tmp_path / "1.mp4"), str(tmp_path / "2.mp4")])
    else:
        argv = live_argv(ffmpeg.path, params, "rtmp://127.0.0.1:1935/live/k")
    assert "lavfi" not in argv and argv[argv.index("-i") + 1] == path
    assert source.info["render"] == "prepared" and source.info["format"] == "rawvideo"
    if sources.is_live(kind):
        assert " ".join(argv).count(f"-re -stream_loop -1 -i {path}") == 1
        assert argv[argv.index("-map", argv.index("0:v:0")) + 1] == "0:a:0"  # the tone, rendered into the file
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,pix_fmt", "-of", "json", path],
        capture_output=True,
        text=True,
        check=True,
    )
    codecs = [s["codec_name"] for s in json.loads(probe.stdout)["streams"]]
    assert codecs == (["rawvideo", "pcm_s16le"] if sources.is_live(kind) else ["rawvideo"])


def test_real_transcode_reads_the_file_and_records_source_and_siti(ffmpeg, tmp_path):
    """A real transcode job: the argv reads the prepared file, the result has the source object, si/ti metrics, the
    provenance line, and quality compared the same frames; rendering was reported as its own phase, before the
    encode."""
    ctx = _ctx(tmp_path, ffmpeg)
    result = execute_job(_job(_params()), ctx, "n-1")
    assert result["status"] == "succeeded", result["error"]
    json.dumps(result, allow_nan=False)
    argv, info = result["ffmpeg"]["argv"], result["source"]
    assert "lavfi" not in argv and argv[argv.index("-i") + 1] == info["file"]
    assert set(info) == SOURCE_FIELDS
    assert info["cached"] is False and info["render_s"] > 0 and info["loop"] is False and info["segment_s"] == 2
    assert info["sha256"] == sources.file_sha256(info["file"]) and info["bytes"] == os.path.getsize(info["file"])
    assert info["bytes"] == pytest.approx(60 * 160 * 90 * 3 // 2, rel=0.01)  # 2 s of raw yuv420p + NUT headers
    assert result["metrics"]["frames"] == 60
    assert result["metrics"]["si"] == info["si_mean"] > 0 and result["metrics"]["ti"] == info["ti_mean"] > 0
    assert "si" not in result["missing"] and info["siti_reason"] is None
    assert result["quality"]["same_source"] is True and result["metrics"]["quality_frames"] == 60
    assert any("prepared raw file" in n and "read by the measured FFmpeg" in n for n in result["provenance"]["notes"])
    phases = ctx.live.phases
    assert phases.index("preparing source") < phases.index("encoding")


def test_second_job_reuses_the_cache(ffmpeg, tmp_path):
    """The same parameters reuse the file: render_s 0, cached, same sha256 and path."""
    first = _prepare(tmp_path, ffmpeg).info
    ctx = _ctx(tmp_path, ffmpeg)
    second = sources.prepare_source(_job(_params()), ctx).info
    assert second["cached"] is True and second["render_s"] == 0
    assert (second["file"], second["sha256"], second["si_mean"]) == (first["file"], first["sha256"], first["si_mean"])
    assert "preparing source" not in getattr(ctx.live, "phases", [])


@pytest.mark.parametrize(
    "change",
    [
        {"input": {**SMALL, "size": "128x72"}},
        {"input": {**SMALL, "rate": 25}},
        {"duration": 3},
        {"input": {"type": "lavfi", "content": "medium", "size": "160x90", "rate": 30}},
    ],
)
def test_a_changed_parameter_makes_another_file(change, ffmpeg, tmp_path):
    """Size, rate, duration or content changes give a different cached file with different bytes."""
    base = _prepare(tmp_path, ffmpeg).info
    other = _prepare(tmp_path, ffmpeg, **change).info
    assert other["file"] != base["file"] and other["sha256"] != base["sha256"] and other["cached"] is False
    assert sorted(p.suffix for p in (tmp_path / "sources").iterdir()) == [".json", ".json", ".nut", ".nut"]


def test_tiny_budget_loops_a_segment_and_keeps_the_frame_count(ffmpeg, tmp_path, monkeypatch):
    """Beyond the budget a shorter segment is rendered and looped: the encode still gets duration x rate frames,
    and the quality comparison reads the same looped file."""
    frame = 160 * 90 * 3 // 2
    monkeypatch.setenv(sources.BUDGET_ENV, str(10 * frame + 100))
    result = execute_job(_job(_params(duration=3)), _ctx(tmp_path, ffmpeg), "n-1")
    assert result["status"] == "succeeded", result["error"]
    info, argv = result["source"], result["ffmpeg"]["argv"]
    assert info["loop"] is True and info["segment_s"] == pytest.approx(10 / 30)
    assert info["bytes"] < 10 * frame + 4096
    assert " ".join(argv).count(f"-stream_loop -1 -i {info['file']}") == 1
    assert result["metrics"]["frames"] == 90
    assert result["quality"]["same_source"] is True and result["metrics"]["quality_frames"] == 90
    assert any("segment looped to 3 s" in n for n in result["provenance"]["notes"])


def test_inline_render_keeps_lavfi(ffmpeg, tmp_path):
    """``render: inline`` measures the generator with the encode, as before; SI/TI from a short run outside."""
    result = execute_job(_job(_params(input={**SMALL, "render": "inline"})), _ctx(tmp_path, ffmpeg), "n-1")
    assert result["status"] == "succeeded", result["error"]
    argv, info = result["ffmpeg"]["argv"], result["source"]
    assert argv[argv.index("-i") - 2 : argv.index("-i")] == ["-f", "lavfi"]
    assert info["render"] == "inline" and info["sha256"] is None and info["file"] is None
    assert info["render_s"] is None and info["graph"] == "testsrc2=size=160x90:rate=30"
    assert result["metrics"]["si"] == info["si_mean"] is not None
    assert result["quality"]["same_source"] is False
    assert any("inline lavfi: the generator's CPU is in the measurement" in n for n in result["provenance"]["notes"])
    assert not (tmp_path / "sources").exists()


def test_file_input_is_used_as_is_with_cached_siti(ffmpeg, tmp_path):
    """A file input is read as is; its sha256 and SI/TI are computed once, then cached by path, size and mtime."""
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        [
            ffmpeg.path,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x90:rate=30",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    params = _params(input={"type": "file", "path": str(clip)}, duration=1)
    first = sources.prepare_source(_job(params), _ctx(tmp_path, ffmpeg))
    assert first.params == params
    assert first.info["render"] == "file" and first.info["sha256"] == sources.file_sha256(clip)
    assert first.info["si_mean"] > 0 and first.info["graph"] is None
    ctx = _ctx(tmp_path, ffmpeg)
    again = sources.prepare_source(_job(params), ctx)
    assert again.info == first.info and "preparing source" not in getattr(ctx.live, "phases", [])


def test_siti_missing_has_a_reason(ffmpeg, tmp_path, monkeypatch):
    """No SI/TI (an FFmpeg without siti): the metrics are null with the reason under missing."""
    monkeypatch.setattr(sources, "measure_siti", lambda *a, **k: (None, "unavailable: no siti filter"))
    result = execute_job(_job(_params(quality=False)), _ctx(tmp_path, ffmpeg), "n-1")
    assert result["metrics"]["si"] is None and result["missing"]["ti"] == "unavailable: no siti filter"
    assert result["source"]["siti_reason"] == "unavailable: no siti filter"


def test_failed_render_leaves_no_file(ffmpeg, tmp_path, monkeypatch):
    """A render that fails fails the job before anything is measured and leaves nothing in the cache."""
    real = sources.render_argv
    monkeypatch.setattr(sources, "render_argv", lambda *a: real(*a)[:-1] + ["/nonexistent/dir/x.nut"])
    with pytest.raises(JobFailed, match="preparing source failed"):
        _prepare(tmp_path, ffmpeg)
    assert list((tmp_path / "sources").iterdir()) == []


def test_nothing_is_rendered_for_an_unusable_encoder(ffmpeg, tmp_path):
    """An encoder this host cannot use fails the job as before, without rendering its source."""
    result = execute_job(_job(_params()), _ctx(tmp_path, ffmpeg, usable=False), "n-1")
    assert result["error"].startswith("encoder unavailable: libx264") and "source" not in result
    assert not (tmp_path / "sources").exists()


def test_content_presets_render_and_rise_in_temporal_information(ffmpeg, tmp_path):
    """easy, medium and hard render deterministically (same bytes twice) and TI rises from easy to hard."""
    assert set(CONTENT_PRESETS) == {"easy", "medium", "hard"}
    ti = {}
    for name in CONTENT_PRESETS:
        info = _prepare(
            tmp_path, ffmpeg, input={"type": "lavfi", "content": name, "size": "160x90", "rate": 30}, duration=1
        ).info
        assert info["content"] == name and info["graph"].startswith("testsrc2=size=160x90:rate=30")
        again = sources.render(
            _ctx(tmp_path, ffmpeg),
            json.loads((tmp_path / "sources" / (os.path.basename(info["file"])[:-4] + ".json")).read_text())["spec"],
            None,
            tmp_path / "again.nut",
        )
        assert again["sha256"] == info["sha256"]
        ti[name] = info["ti_mean"]
    assert ti["easy"] < ti["medium"] < ti["hard"]


def test_content_and_source_are_exclusive(ffmpeg, tmp_path):
    """An input naming both content and source is refused by the scenario, and nothing is rendered."""
    result = execute_job(_job(_params(input={**SMALL, "content": "easy"})), _ctx(tmp_path, ffmpeg), "n-1")
    assert result["status"] == "failed" and "mutually exclusive" in result["error"]
    assert "source" not in result


@pytest.mark.skipif(NGINX is None, reason=f"nginx-rtmp unavailable: {NO_NGINX}")
def test_live_pusher_looping_a_prepared_file_keeps_real_time(ffmpeg, tmp_path, monkeypatch):
    """A 4 s live stream through nginx-rtmp from a 1 s prepared segment (video + PCM tone) looped with -re: the
    stream lasts its 4 s in real time and the receiver gets every frame."""
    frame = 160 * 90 * 3 // 2 + 48000 * 2 // 30
    monkeypatch.setenv(sources.BUDGET_ENV, str(30 * frame + 100))
    params = _params(kind="live", duration=4, ingest="nginx", timeout=30)
    result = execute_job(_job(params), _ctx(tmp_path, ffmpeg), "n-1")
    assert result["status"] == "succeeded", result["error"]
    info, argv = result["source"], result["ffmpeg"]["argv"]
    assert info["loop"] is True and info["segment_s"] == pytest.approx(1.0) and "lavfi" not in argv
    assert f"-re -stream_loop -1 -i {info['file']}" in " ".join(argv) and "aac" in argv
    stream = result["streams"][0]
    assert stream["frames"] == 120 and stream["frames_received"] == 120 and stream["dropped_frames"] == 0
    assert stream["speed"] == pytest.approx(1.0, abs=0.05)
    assert 3.8 <= result["metrics"]["duration_s"] <= 8
    assert result["metrics"]["si"] == info["si_mean"] and result.get("quality") is None


def test_cancel_while_rendering_fails_the_job_before_any_measurement(ffmpeg, tmp_path):
    """A cancel during the render stops it: the job fails as cancelled, nothing is left in the cache."""
    import threading

    ctx = _ctx(tmp_path, ffmpeg)
    threading.Timer(0.3, ctx.cancel.set).start()
    result = execute_job(_job(_params(input={**SMALL, "size": "1280x720"}, duration=60)), ctx, "n-1")
    assert result["status"] == "failed" and result["error"].startswith("cancelled: preparing source failed (cancel")
    assert "source" not in result and "metrics" not in result
    assert [p.name for p in (tmp_path / "sources").iterdir()] == []


@pytest.mark.parametrize("frames,rate", [(20, 30), (7, "30000/1001")])
def test_a_segment_holds_exactly_its_frames_and_as_much_audio(frames, rate, ffmpeg, tmp_path):
    """A segment of N frames holds N frames and N / rate seconds of tone (within a sample), so loops line up."""
    spec = sources.render_spec(_params(kind="live", input={**SMALL, "rate": rate}), "live", ffmpeg.version)
    out = tmp_path / "seg.nut"
    subprocess.run(sources.render_argv(ffmpeg.path, spec, frames, str(out)), check=True)
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_type,nb_read_frames",
            "-of",
            "json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    counts = {s["codec_type"]: int(s["nb_read_frames"]) for s in json.loads(probe.stdout)["streams"]}
    assert counts["video"] == frames
    samples = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "packet=duration",
            "-of",
            "csv=p=0",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    total = sum(int(line) for line in samples.stdout.split())
    from fractions import Fraction

    assert abs(total - frames / Fraction(str(rate)) * 48000) <= 1


def test_cache_keeps_the_most_recently_used_files_within_its_limit(ffmpeg, tmp_path, monkeypatch):
    """Past FFWATT_SOURCE_CACHE_BYTES, a new render deletes the least recently used files (a reused one counts as
    used), never the one the job needs."""
    one = 60 * 160 * 90 * 3 // 2
    monkeypatch.setenv(sources.CACHE_ENV, str(2 * one + 10_000))
    first = _prepare(tmp_path, ffmpeg).info
    second = _prepare(tmp_path, ffmpeg, input={**SMALL, "rate": 31}, duration=60 / 31).info
    os.utime(first["file"], (1, 1))
    os.utime(second["file"], (2, 2))
    assert _prepare(tmp_path, ffmpeg).info["cached"] is True  # first is used again: now the most recent
    third = _prepare(tmp_path, ffmpeg, input={**SMALL, "rate": 29}, duration=60 / 29).info
    left = {p.name for p in (tmp_path / "sources").iterdir()}
    names = {os.path.basename(i["file"]) for i in (first, third)}
    assert left == names | {n[:-4] + ".json" for n in names}
    assert sources.file_sha256(third["file"]) == third["sha256"]


def test_a_rate_that_cannot_be_prepared_is_generated_inline_and_says_so(ffmpeg, tmp_path):
    """A rate FFmpeg names (ntsc) cannot be planned: the generator stays in the measured process, never silently."""
    source = _prepare(tmp_path, ffmpeg, input={**SMALL, "rate": "ntsc"})
    assert source.info["render"] == "inline" and source.params["input"]["type"] == "lavfi"
    assert "not prepared: a prepared source needs a numeric rate" in source.note


def test_siti_of_a_long_source_covers_its_first_seconds_and_says_so(ffmpeg, tmp_path, monkeypatch):
    """SI/TI reads at most SITI_MAX_S seconds of a prepared file; the note names the span."""
    monkeypatch.setattr(sources, "SITI_MAX_S", 1.0)
    calls = []
    real = sources.measure_siti
    monkeypatch.setattr(sources, "measure_siti", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    source = _prepare(tmp_path, ffmpeg, duration=3)
    assert calls == [1.0] and source.info["si_mean"] > 0
    assert "SI/TI over its first 1 s" in source.note
