"""Tests for agent.ffmpeg.command: argv per encoder family, input/filter/rate rules, and real encodes of each family."""

from __future__ import annotations

import pytest

from agent.ffmpeg.command import output_suffix, probe_argv, transcode_argv
from agent.ffmpeg.runner import run_ffmpeg
from agent.ffmpeg.verify import verify_output


def job(**overrides) -> dict:
    """Job params as in docs/WIRE.md, small, with overrides."""
    params = {
        "kind": "transcode",
        "input": {"type": "lavfi", "source": "testsrc2", "size": "320x180", "rate": 30},
        "encoder": "libx264",
        "preset": "veryfast",
        "bitrate": "300k",
        "crf": None,
        "resolution": None,
        "fps": None,
        "duration": 1,
    }
    params.update(overrides)
    return params


def value(argv: list[str], flag: str) -> str:
    """The argument following ``flag`` in ``argv``."""
    return argv[argv.index(flag) + 1]


def test_x264_argv_shape():
    """An x264 lavfi job has the input graph, -t, -c:v, preset, bitrate, -an, progress and the output last."""
    argv = transcode_argv("/usr/bin/ffmpeg", job(), "/tmp/out.mp4")
    assert argv[0] == "/usr/bin/ffmpeg" and argv[-2:] == ["-y", "/tmp/out.mp4"]
    assert value(argv, "-f") == "lavfi"
    assert value(argv, "-i") == "testsrc2=size=320x180:rate=30:duration=1"
    assert value(argv, "-t") == "1" and value(argv, "-c:v") == "libx264"
    assert value(argv, "-preset") == "veryfast" and value(argv, "-b:v") == "300k"
    assert "-an" in argv and "-crf" not in argv and "-vf" not in argv
    assert value(argv, "-progress") == "pipe:1" and "-nostats" in argv


@pytest.mark.parametrize(
    "encoder, preset, flags",
    [
        ("libx265", "slow", {"-preset": "slow"}),
        ("libsvtav1", "veryfast", {"-preset": "11"}),
        ("libsvtav1", 4, {"-preset": "4"}),
        ("libaom-av1", "medium", {"-cpu-used": "3"}),
        ("libvpx-vp9", "ultrafast", {"-deadline": "realtime", "-cpu-used": "8"}),
        ("libvpx-vp9", "medium", {"-deadline": "good", "-cpu-used": "3"}),
        ("libvpx-vp9", "good:2", {"-deadline": "good", "-cpu-used": "2"}),
        ("h264_nvenc", "fast", {"-preset": "p4"}),
        ("hevc_nvenc", "p7", {"-preset": "p7"}),
        ("av1_nvenc", 2, {"-preset": "p2"}),
        ("h264_qsv", "ultrafast", {"-preset": "veryfast"}),
    ],
)
def test_preset_mapping_per_family(encoder, preset, flags):
    """Each family's preset lands on its own flag with the documented value."""
    argv = transcode_argv("ffmpeg", job(encoder=encoder, preset=preset), "out")
    assert {flag: value(argv, flag) for flag in flags} == flags


@pytest.mark.parametrize(
    "encoder, flags",
    [
        ("libx264", {"-crf": "23"}),
        ("libx265", {"-crf": "23"}),
        ("libsvtav1", {"-crf": "23"}),
        ("libaom-av1", {"-crf": "23", "-b:v": "0"}),
        ("libvpx-vp9", {"-crf": "23", "-b:v": "0"}),
        ("h264_nvenc", {"-cq": "23", "-b:v": "0"}),
        ("h264_qsv", {"-global_quality": "23"}),
        ("h264_vaapi", {"-rc_mode": "CQP", "-qp": "23"}),
    ],
)
def test_crf_per_family(encoder, flags):
    """CRF becomes each family's constant-quality flags."""
    argv = transcode_argv("ffmpeg", job(encoder=encoder, preset=None, bitrate=None, crf=23), "out")
    assert {flag: value(argv, flag) for flag in flags} == flags


def test_vaapi_uploads_frames_and_skips_preset():
    """VAAPI gets its device, an nv12 upload after scaling, and no preset flag."""
    argv = transcode_argv("ffmpeg", job(encoder="h264_vaapi", resolution="160x90"), "out")
    assert value(argv, "-vaapi_device") == "/dev/dri/renderD128"
    assert argv.index("-vaapi_device") < argv.index("-i")
    assert value(argv, "-vf") == "scale=160:90,format=nv12,hwupload"
    assert "-preset" not in argv


def test_scale_and_fps_filters_only_when_they_change_something():
    """Resolution and fps add filters when they differ from the generated input, not when equal."""
    changed = transcode_argv("ffmpeg", job(resolution="160x90", fps=25), "out")
    assert value(changed, "-vf") == "scale=160:90,fps=25"
    same = transcode_argv("ffmpeg", job(resolution="320x180", fps=30), "out")
    assert "-vf" not in same


def test_fractional_rates_compare_exactly():
    """An NTSC rate given as a fraction matches the same input rate, and differs from 30."""
    ntsc = {"type": "lavfi", "source": "testsrc2", "size": "320x180", "rate": "30000/1001"}
    assert "-vf" not in transcode_argv("ffmpeg", job(input=ntsc, fps="30000/1001"), "out")
    assert value(transcode_argv("ffmpeg", job(fps="30000/1001"), "out"), "-vf") == "fps=30000/1001"


def test_file_input_and_missing_lavfi_size():
    """A file input is -i path with -t; a lavfi input without size takes the job's resolution."""
    argv = transcode_argv("ffmpeg", job(input={"type": "file", "path": "/clips/a.mp4"}, duration=5), "out")
    assert value(argv, "-i") == "/clips/a.mp4" and value(argv, "-t") == "5"
    assert value(argv, "-map") == "0:v:0"
    generated = transcode_argv("ffmpeg", job(input={"type": "lavfi", "source": "mandelbrot"}, resolution="160x90"), "o")
    assert value(generated, "-i") == "mandelbrot=size=160x90:rate=30"  # mandelbrot has no duration option


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"bitrate": "1M", "crf": 20}, "exactly one"),
        ({"bitrate": None, "crf": None}, "exactly one"),
        ({"input": {"type": "lavfi", "source": "nosuchsrc"}}, "unknown lavfi source"),
        ({"input": {"type": "lavfi"}, "duration": None}, "never ends"),
        ({"input": {"type": "http"}}, "input.type"),
        ({"preset": "turbo"}, "unknown x264 preset"),
        ({"encoder": "libsvtav1", "preset": 20}, "outside"),
        ({"resolution": "big"}, "1280x720"),
    ],
)
def test_invalid_params_raise(overrides, message):
    """Bad params raise ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        transcode_argv("ffmpeg", job(**overrides), "out")


@pytest.mark.parametrize(
    "encoder, suffix",
    [
        ("libx264", ".mp4"),
        ("libx265", ".mp4"),
        ("libsvtav1", ".mp4"),
        ("h264_nvenc", ".mp4"),
        ("av1_qsv", ".mp4"),
        ("libvpx-vp9", ".webm"),
        ("vp9_vaapi", ".webm"),
        ("ffv1", ".mkv"),
    ],
)
def test_output_suffix(encoder, suffix):
    """Each codec gets a container that can hold it."""
    assert output_suffix(encoder) == suffix


def test_probe_argv_sizes():
    """Probes encode a few frames to the null muxer: 64x64 in software, larger for hardware."""
    soft = probe_argv("ffmpeg", "libsvtav1")
    assert value(soft, "-i") == "testsrc2=size=64x64:rate=30" and value(soft, "-frames:v") == "5"
    assert soft[-3:] == ["-f", "null", "-"]
    assert value(probe_argv("ffmpeg", "h264_nvenc"), "-i").startswith("testsrc2=size=256x144")


@pytest.mark.integration
@pytest.mark.parametrize("encoder", ["libx264", "libx265", "libsvtav1", "libaom-av1", "libvpx-vp9"])
@pytest.mark.parametrize("rate", [{"bitrate": "200k", "crf": None}, {"bitrate": None, "crf": 35}])
def test_real_encode_per_family(system_ffmpeg, tmp_path, encoder, rate):
    """The argv of every software family is accepted by the real ffmpeg and yields a verified output."""
    params = job(
        encoder=encoder,
        preset="ultrafast",
        resolution="160x90",
        fps=15,
        input={"type": "lavfi", "source": "testsrc", "size": "320x180", "rate": 30},
        **rate,
    )
    output = tmp_path / f"out{output_suffix(encoder)}"
    run = run_ffmpeg(transcode_argv(system_ffmpeg.path, params, output), timeout_s=60)
    assert verify_output(output, run) is None, run.outcome.stderr_tail
    assert run.frames == 15
